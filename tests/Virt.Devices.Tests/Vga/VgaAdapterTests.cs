using System.Buffers.Binary;
using System.IO.Compression;
using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Vga;

public sealed class VgaAdapterTests
{
    private readonly VgaAdapter _vga = new();

    private void Out(ushort port, byte value) => Handler(port, out ushort offset).Write(offset, 1, value);

    private byte In(ushort port) => (byte)Handler(port, out ushort offset).Read(offset, 1);

    private IPortDevice Handler(ushort port, out ushort offset)
    {
        foreach (PortBinding binding in _vga.PortBindings)
        {
            if (port >= binding.FirstPort && port < binding.FirstPort + binding.Count)
            {
                offset = (ushort)(port - binding.FirstPort);
                return binding.Device;
            }
        }

        throw new InvalidOperationException($"port {port:X} not bound");
    }

    private void PutText(int row, int column, string text, byte attribute)
    {
        for (int i = 0; i < text.Length; i++)
        {
            ulong cell = (ulong)(byte)text[i] | ((ulong)attribute << 8);
            _vga.MemoryWindow.Write(new RegionOffset((ulong)((((row * 80) + column + i) * 2))), 2, cell);
        }
    }

    private void SetCrtc(byte index, byte value)
    {
        Out(0x3D4, index);
        Out(0x3D5, value);
    }

    [Fact]
    public void TextCapture_ReadsCellsFromTheWindow()
    {
        _vga.ClearTextScreen();
        PutText(0, 0, "Hello, VGA!", 0x1F);
        PutText(1, 5, "Line 2", 0x07);
        PutText(24, 79, "Z", 0x07);
        string[] screen = _vga.GetScreenText();
        Assert.Equal(25, screen.Length);
        Assert.Equal("Hello, VGA!", screen[0]);
        Assert.Equal("     Line 2", screen[1]);
        Assert.Equal(new string(' ', 79) + "Z", screen[24]);
        Assert.Equal(80, _vga.GetScreenText(trimTrailingSpaces: false)[2].Length);
        Assert.Equal(0x1F, _vga.GetAttribute(0, 0));
        Assert.Equal((ulong)'H' | (0x1FUL << 8), _vga.MemoryWindow.Read(new RegionOffset(0), 2));

        // Start address 80 (one row, in character cells) scrolls the display.
        SetCrtc(0x0C, 0x00);
        SetCrtc(0x0D, 80);
        Assert.Equal("     Line 2", _vga.GetScreenText()[0]);
    }

    [Fact]
    public void CodePage437_BoxDrawingMapsToUnicode()
    {
        PutText(0, 0, "\u00C9\u00CD\u00BB", 0x07); // bytes C9h CDh BBh
        Assert.StartsWith("╔═╗", _vga.GetScreenText()[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Cursor_FromCrtcLocationAndShape()
    {
        SetCrtc(0x0E, 0x00);
        SetCrtc(0x0F, 85);
        Assert.Equal((1, 5), _vga.CursorPosition);
        Assert.True(_vga.CursorVisible);
        SetCrtc(0x0A, 0x20);
        Assert.False(_vga.CursorVisible);
        Out(0x3D4, 0x0F);
        Assert.Equal(85, In(0x3D5));
    }

    [Fact]
    public void CrtcProtectBit_LocksRegisters0To7()
    {
        SetCrtc(0x01, 0x27); // protected in mode 03h (CR11 bit 7 set)
        Assert.Equal(80, _vga.TextColumns);
        SetCrtc(0x11, 0x0E);
        SetCrtc(0x01, 0x27);
        Assert.Equal(40, _vga.TextColumns);
    }

    [Fact]
    public void AttributeFlipFlop_ResetByReadingInputStatus()
    {
        In(0x3DA);
        Out(0x3C0, 0x01);
        Out(0x3C0, 0x3F);   // palette 1 = 3Fh (white)
        Out(0x3C0, 0x21);   // index again, display on
        Assert.Equal(0x3F, In(0x3C1));
        Out(0x3C0, 0x07);   // the flip-flop is in the data phase: palette 1 = 07h
        In(0x3DA);          // back to the index phase
        Out(0x3C0, 0x21);
        Assert.Equal(0x07, In(0x3C1));
        Assert.Equal(0x21, In(0x3C0));
    }

    [Fact]
    public void InputStatus1_TogglesRetraceSoPollingLoopsEnd()
    {
        var seen = new HashSet<int>();
        for (int i = 0; i < 8; i++)
        {
            seen.Add(In(0x3DA) & 0x09);
        }

        Assert.Contains(0x00, seen);
        Assert.Contains(0x09, seen);
        Assert.Contains(0x01, seen);
    }

    [Fact]
    public void Dac_WriteAndReadBack()
    {
        Out(0x3C8, 5);
        Out(0x3C9, 0x3F);
        Out(0x3C9, 0x20);
        Out(0x3C9, 0x41); // only 6 bits kept
        Assert.Equal(6, In(0x3C8));
        Out(0x3C7, 5);
        Assert.Equal(0x03, In(0x3C7));
        Assert.Equal(0x3F, In(0x3C9));
        Assert.Equal(0x20, In(0x3C9));
        Assert.Equal(0x01, In(0x3C9));
        Assert.Equal(0xFF8204, _vga.GetTextColorRgb(5)); // attribute palette 5 -> DAC 5; 6-bit 20h scales to 82h
    }

    [Fact]
    public void MiscOutput_SelectsMonoOrColourCrtcPorts()
    {
        Assert.Equal(0x67, In(0x3CC));
        Assert.Equal(0xFF, In(0x3B5));
        Out(0x3C2, 0x66);
        Out(0x3B4, 0x0F);
        Out(0x3B5, 0x12);
        Assert.Equal(0x12, In(0x3B5));
        Assert.Equal(0xFF, In(0x3D5));
        Out(0x3C2, 0x67);
        Out(0x3D4, 0x0F);
        Assert.Equal(0x12, In(0x3D5));
    }

    [Fact]
    public void SequencerAndGraphicsRegisters_AreStored()
    {
        Out(0x3C4, 0x02);
        Assert.Equal(0x03, In(0x3C5));
        Out(0x3CE, 0x06);
        Assert.Equal(0x0E, In(0x3CF));
        Out(0x3CE, 0x08);
        Out(0x3CF, 0x55);
        Assert.Equal(0x55, In(0x3CF));
    }

    [Fact]
    public void PlanarAccess_WritesPlanesByMapMaskAndReadsByReadMap()
    {
        Out(0x3C4, 0x04);
        Out(0x3C5, 0x06); // odd/even off
        Out(0x3C4, 0x02);
        Out(0x3C5, 0x04); // plane 2 only
        _vga.MemoryWindow.Write(new RegionOffset(0x10), 1, 0xAB);
        Out(0x3CE, 0x04);
        Out(0x3CF, 0x02); // read plane 2
        Assert.Equal(0xABUL, _vga.MemoryWindow.Read(new RegionOffset(0x10), 1));
        Out(0x3CF, 0x00);
        Assert.Equal(0x00UL, _vga.MemoryWindow.Read(new RegionOffset(0x10), 1));
    }

    [Fact]
    public void Png_RendersAKnownScreen()
    {
        _vga.ClearTextScreen();
        PutText(0, 0, "A", 0x1E); // yellow on blue
        SetCrtc(0x0A, 0x20);      // no cursor
        using var png = new MemoryStream();
        _vga.SavePng(png);
        (int width, int height, byte[] rgb) = DecodePng(png.ToArray());
        Assert.Equal(720, width);
        Assert.Equal(400, height);

        // 'A' row 0 is .###. in columns 1-5 of the cell (pixels 2-4); rows double, so scan lines 0 and 1.
        Assert.Equal(0x0000AA, Pixel(rgb, width, 0, 0)); // blue background
        Assert.Equal(0xFFFF55, Pixel(rgb, width, 2, 0)); // yellow foreground
        Assert.Equal(0xFFFF55, Pixel(rgb, width, 4, 1));
        Assert.Equal(0x0000AA, Pixel(rgb, width, 5, 1));
        Assert.Equal(0xFFFF55, Pixel(rgb, width, 1, 8)); // row 4 is ##### (scan lines 8, 9)
        Assert.Equal(0x0000AA, Pixel(rgb, width, 8, 8)); // ninth column stays background
        Assert.Equal(0x000000, Pixel(rgb, width, 9, 0)); // next cell: space on black
        Assert.Equal(0x000000, Pixel(rgb, width, 719, 399));

        VgaFrame frame = _vga.Render();
        Assert.Equal(0xFFFF55, frame.GetPixelRgb(2, 0));
    }

    [Fact]
    public void Render_DrawsTheCursor()
    {
        _vga.ClearTextScreen();
        SetCrtc(0x0E, 0);
        SetCrtc(0x0F, 1);
        VgaFrame frame = _vga.Render();
        Assert.Equal(0xAAAAAA, frame.GetPixelRgb(9, 13)); // cursor lines 13-14 of cell (0, 1), light grey
        Assert.Equal(0x000000, frame.GetPixelRgb(9, 12));
    }

    [Property(MaxTest = 30)]
    public void State_RoundTrips(byte[] program)
    {
        var vga = new VgaAdapter();
        ushort[] ports = [0x3B4, 0x3B5, 0x3BA, 0x3C0, 0x3C1, 0x3C2, 0x3C4, 0x3C5, 0x3C6, 0x3C7, 0x3C8, 0x3C9, 0x3CE, 0x3CF, 0x3D4, 0x3D5, 0x3DA];
        for (int i = 0; i + 2 < program.Length; i += 3)
        {
            ushort port = ports[program[i] % ports.Length];
            PortBinding binding = vga.PortBindings.First(b => port >= b.FirstPort && port < b.FirstPort + b.Count);
            ushort offset = (ushort)(port - binding.FirstPort);
            switch (program[i + 2] % 4)
            {
                case 0:
                    binding.Device.Read(offset, 1);
                    break;
                case 1:
                    binding.Device.Write(offset, 1, program[i + 1]);
                    break;
                case 2:
                    vga.MemoryWindow.Write(new RegionOffset((ulong)(program[i + 1] * 97)), 1, program[i]);
                    break;
                default:
                    vga.MemoryWindow.Read(new RegionOffset(program[i + 1]), 2);
                    break;
            }
        }

        VgaState saved = vga.SaveState();
        var restored = new VgaAdapter();
        restored.RestoreState(saved);
        Assert.Equal(saved, restored.SaveState());
        Assert.Equal(vga.GetScreenText(), restored.GetScreenText());
    }

    private static int Pixel(byte[] rgb, int width, int x, int y)
    {
        int i = ((y * width) + x) * 3;
        return (rgb[i] << 16) | (rgb[i + 1] << 8) | rgb[i + 2];
    }

    /// <summary>A minimal PNG reader for the encoder's output: checks signature, chunk CRCs, IHDR, inflates IDAT.</summary>
    internal static (int Width, int Height, byte[] Rgb) DecodePng(byte[] file)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, file[..8]);
        int position = 8;
        int width = 0, height = 0;
        using var idat = new MemoryStream();
        while (position < file.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(position));
            string type = System.Text.Encoding.ASCII.GetString(file, position + 4, 4);
            byte[] data = file[(position + 8)..(position + 8 + length)];
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(position + 8 + length));
            Assert.Equal(ReferenceCrc(file.AsSpan(position + 4, 4 + length)), crc);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4));
                Assert.Equal(8, data[8]);
                Assert.Equal(2, data[9]);
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }

            position += 12 + length;
            if (type == "IEND")
            {
                break;
            }
        }

        idat.Position = 0;
        using var zlib = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        zlib.CopyTo(raw);
        byte[] scanlines = raw.ToArray();
        Assert.Equal(height * (1 + (width * 3)), scanlines.Length);
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            Assert.Equal(0, scanlines[y * (1 + (width * 3))]); // filter None
            Array.Copy(scanlines, (y * (1 + (width * 3))) + 1, rgb, y * width * 3, width * 3);
        }

        return (width, height, rgb);
    }

    /// <summary>Bit-by-bit CRC-32 (no table), an independent check of the encoder's table-driven one.</summary>
    private static uint ReferenceCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
            }
        }

        return ~crc;
    }
}
