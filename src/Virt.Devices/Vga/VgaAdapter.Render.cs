namespace Virt.Devices;

/// <summary>
/// Rendering: what the CRT controller would scan out, as RGBA pixels. Text modes take the glyphs from plane 2 (the
/// character map select picks the fonts); graphics modes read the planes as the CRTC addresses them (byte, word or
/// double-word mode, the CGA row-scan substitution) in 16-colour planar, CGA 4-colour interleaved or 256-colour form;
/// a VBE mode reads the linear framebuffer.
/// </summary>
public sealed partial class VgaAdapter
{
    /// <summary>Bytes per glyph slot in plane 2 (32 scan lines, of which the CRTC character height are shown).</summary>
    public const int FontGlyphStrideInBytes = 32;

    // Attribute controller mode control (index 10h).
    private const byte AttributeModeEightBitColor = 0x40;

    // CRTC mode control (17h) and underline location (14h).
    private const byte CrtcModeNoRowScanSubstitution13 = 0x01;
    private const byte CrtcModeNoRowScanSubstitution14 = 0x02;
    private const byte CrtcModeByteMode = 0x40;
    private const byte CrtcUnderlineDoubleWord = 0x40;
    private const byte CrtcMaxScanLineDoubleScan = 0x80;

    // Graphics controller mode bit 5: shift register interleave (the CGA 4-colour modes).
    private const byte GraphicsModeShiftInterleave = 0x20;

    private const int PixelSizeInBytes = 4;

    /// <summary>What <see cref="Render"/> shows now.</summary>
    public VgaDisplayMode DisplayMode =>
        VbeModeEnabled ? VgaDisplayMode.Vbe
        : (_graphics[GcMiscellaneous] & GraphicsMiscGraphicsMode) == 0 ? VgaDisplayMode.Text
        : (_attribute[0x10] & AttributeModeEightBitColor) != 0 ? VgaDisplayMode.Graphics256
        : (_graphics[GcMode] & GraphicsModeShiftInterleave) != 0 ? VgaDisplayMode.Graphics4Interleaved
        : VgaDisplayMode.Graphics16Planar;

    /// <summary>
    /// Renders the current mode: text (glyphs from plane 2, attributes, the cursor), the VGA graphics modes (planar 16
    /// colours, CGA 4 colours, 256 colours, at the resolution the CRTC gives: 640x480, 640x350, 320x200, ...), or the VBE
    /// mode. Blinking characters are drawn in their visible phase.
    /// </summary>
    /// <param name="drawCursor">Whether to draw the text cursor.</param>
    /// <returns>The frame (RGBA).</returns>
    public VgaFrame Render(bool drawCursor = true)
    {
        VgaDisplayMode mode = DisplayMode;
        if (mode == VgaDisplayMode.Vbe)
        {
            return RenderVbe();
        }

        if (mode == VgaDisplayMode.Text)
        {
            return RenderText(drawCursor);
        }

        return RenderGraphics(mode);
    }

    /// <summary>Renders the screen (<see cref="Render"/>) and writes it as a PNG image.</summary>
    /// <param name="destination">The stream.</param>
    /// <param name="drawCursor">Whether to draw the cursor.</param>
    public void SavePng(Stream destination, bool drawCursor = true) => Render(drawCursor).SavePng(destination);

    /// <summary>Writes Virt's built-in 8x16 font into font slot 0 of plane 2, as a BIOS does at a text mode set.</summary>
    public void LoadBuiltInFont()
    {
        for (int code = 0; code < 256; code++)
        {
            ReadOnlySpan<byte> glyph = VgaFont.Glyph((byte)code);
            for (int y = 0; y < FontGlyphStrideInBytes; y++)
            {
                _planes[(2 * PlaneSizeInBytes) + (code * FontGlyphStrideInBytes) + y] = y < glyph.Length ? glyph[y] : (byte)0;
            }
        }
    }

    /// <summary>The plane 2 offset of font slot <paramref name="slot"/> (FreeVGA, Character Map Select: 0-3 at 16 KiB steps, 4-7 8 KiB above them).</summary>
    private static int FontOffset(int slot) => ((slot & 3) * 0x4000) + (((slot >> 2) & 1) * 0x2000);

    private static void Fill(byte[] pixels, int rgb)
    {
        for (int i = 0; i < pixels.Length; i += PixelSizeInBytes)
        {
            SetPixel(pixels, i, rgb);
        }
    }

    /// <summary>Whether the display is blanked: sequencer screen off, or the attribute controller's palette address source clear.</summary>
    private bool TryBlank(int width, int height, out VgaFrame frame)
    {
        bool sequencerOff = (_sequencer[0x01] & 0x20) != 0;
        if (sequencerOff || (_attributeIndex & 0x20) == 0)
        {
            byte[] pixels = new byte[width * height * PixelSizeInBytes];
            Fill(pixels, sequencerOff ? 0 : OverscanRgb());
            frame = new VgaFrame(width, height, pixels);
            return true;
        }

        frame = null!;
        return false;
    }

    private VgaFrame RenderText(bool drawCursor)
    {
        int columns = TextColumns;
        int rows = TextRows;
        int cellWidth = CharacterWidth;
        int cellHeight = CharacterHeight;
        int width = columns * cellWidth;
        int height = rows * cellHeight;
        if (TryBlank(width, height, out VgaFrame blank))
        {
            return blank;
        }

        byte[] pixels = new byte[width * height * PixelSizeInBytes];
        Span<int> palette = stackalloc int[16];
        for (int i = 0; i < 16; i++)
        {
            palette[i] = GetTextColorRgb(i);
        }

        byte mapSelect = _sequencer[0x03];
        int fontA = (2 * PlaneSizeInBytes) + FontOffset((((mapSelect >> 5) & 1) << 2) | ((mapSelect >> 2) & 3));
        int fontB = (2 * PlaneSizeInBytes) + FontOffset((((mapSelect >> 4) & 1) << 2) | (mapSelect & 3));
        bool blinkEnabled = (_attribute[0x10] & 0x08) != 0;
        bool lineGraphics = (_attribute[0x10] & 0x04) != 0;
        int cursorStart = _crtc[0x0A] & 0x1F;
        int cursorEnd = _crtc[0x0B] & 0x1F;
        bool showCursor = drawCursor && CursorVisible;
        int cursorLocation = CursorLocation;
        int pan = TextPelPan(cellWidth);
        var scanner = new ScanAddressCounter(this, scanLinesPerRow: cellHeight, repeatPerLine: 1);
        for (int y = 0; y < height; y++)
        {
            (int rowStart, int scan, bool belowSplit) = scanner.Next(y);
            int linePan = belowSplit && PelPanningResetBelowSplit ? 0 : pan;
            int outRow = y * width * PixelSizeInBytes;
            for (int x = 0; x < width; x++)
            {
                int dot = x + linePan;
                int counter = (rowStart + (dot / cellWidth)) & 0xFFFF;
                int bit = dot % cellWidth;

                // Word mode: the CRTC reads character n at plane address 2n (the code in plane 0, the attribute in plane 1).
                int address = (counter * 2) & PlaneAddressMask;
                byte code = _planes[address];
                byte attribute = _planes[PlaneSizeInBytes + address];

                // Attribute bit 3 picks map A (set) or map B (clear); with both maps equal it only selects intensity.
                int glyph = ((attribute & 0x08) != 0 ? fontA : fontB) + (code * FontGlyphStrideInBytes);
                int bits = scan < FontGlyphStrideInBytes ? _planes[glyph + scan] : 0;
                bool on;
                if (showCursor && counter == cursorLocation && scan >= cursorStart && scan <= cursorEnd)
                {
                    on = true;
                }
                else if (bit < 8)
                {
                    on = (bits & (0x80 >> bit)) != 0;
                }
                else
                {
                    // The ninth dot: blank, or with line graphics (attribute mode bit 2) a copy of the eighth for C0h-DFh.
                    on = lineGraphics && code is >= 0xC0 and <= 0xDF && (bits & 1) != 0;
                }

                int color = on ? attribute & 0x0F : (attribute >> 4) & (blinkEnabled ? 0x07 : 0x0F);
                SetPixel(pixels, outRow + (x * PixelSizeInBytes), palette[color]);
            }
        }

        return new VgaFrame(width, height, pixels);
    }

    private VgaFrame RenderGraphics(VgaDisplayMode mode)
    {
        int dots = Math.Clamp(_crtc[0x01] + 1, 1, 256) * 8;
        int width = mode == VgaDisplayMode.Graphics256 ? dots / 2 : dots;
        int verticalDisplayEnd = _crtc[0x12] | ((_crtc[0x07] & 0x02) << 7) | ((_crtc[0x07] & 0x40) << 3);
        int lines = verticalDisplayEnd + 1;
        int repeat = 1;
        if ((_crtc[0x09] & CrtcMaxScanLineDoubleScan) != 0)
        {
            lines /= 2;
            repeat = 2;
        }

        int scansPerRow = (_crtc[0x09] & 0x1F) + 1;
        byte modeControl = _crtc[0x17];
        bool substitute = (modeControl & (CrtcModeNoRowScanSubstitution13 | CrtcModeNoRowScanSubstitution14)) != (CrtcModeNoRowScanSubstitution13 | CrtcModeNoRowScanSubstitution14);

        // Without row-scan substitution every scan line of a character row shows the same memory: one output line per row.
        int height = Math.Max(substitute ? lines : lines / scansPerRow, 1);
        if (TryBlank(width, height, out VgaFrame blank))
        {
            return blank;
        }

        byte[] pixels = new byte[width * height * PixelSizeInBytes];
        Span<int> palette = stackalloc int[16];
        for (int i = 0; i < 16; i++)
        {
            palette[i] = GetTextColorRgb(i);
        }

        int shift = (_crtc[0x14] & CrtcUnderlineDoubleWord) != 0 ? 2 : (modeControl & CrtcModeByteMode) != 0 ? 0 : 1;
        int pan = GraphicsPelPan(mode);
        int perCounter = mode == VgaDisplayMode.Graphics256 ? 4 : 8;
        var scanner = new ScanAddressCounter(this, substitute ? scansPerRow : 1, substitute ? repeat : repeat * scansPerRow);
        for (int line = 0; line < height; line++)
        {
            (int rowStart, int scan, bool belowSplit) = scanner.Next(line);
            int linePan = belowSplit && PelPanningResetBelowSplit ? 0 : pan;
            int outRow = line * width * PixelSizeInBytes;
            for (int x = 0; x < width; x++)
            {
                int dot = x + linePan;
                int address = ((rowStart + (dot / perCounter)) & 0xFFFF) << shift;
                if ((modeControl & CrtcModeNoRowScanSubstitution13) == 0)
                {
                    address = (address & ~0x2000) | ((scan & 1) << 13);
                }

                if ((modeControl & CrtcModeNoRowScanSubstitution14) == 0)
                {
                    address = (address & ~0x4000) | (((scan >> 1) & 1) << 14);
                }

                address &= PlaneAddressMask;
                int rgb;
                switch (mode)
                {
                    case VgaDisplayMode.Graphics256:
                        rgb = DacRgb(_planes[((dot & 3) * PlaneSizeInBytes) + address]);
                        break;
                    case VgaDisplayMode.Graphics4Interleaved:
                    {
                        // CGA modes: the first four pixels are the 2-bit fields of plane 0's byte, the next four of plane 1's.
                        int within = dot & 7;
                        byte source = _planes[((within >> 2) * PlaneSizeInBytes) + address];
                        int value = (source >> (6 - (2 * (within & 3)))) & 3;
                        rgb = palette[value];
                        break;
                    }

                    default:
                        rgb = palette[PlanarPixel(address, dot)];
                        break;
                }

                SetPixel(pixels, outRow + (x * PixelSizeInBytes), rgb);
            }
        }

        return new VgaFrame(width, height, pixels);
    }

    /// <summary>The 4-bit colour of dot <paramref name="dot"/> (modulo 8) of the byte at <paramref name="address"/> in the four planes.</summary>
    private int PlanarPixel(int address, int dot)
    {
        int bit = 7 - (dot & 7);
        return ((_planes[address] >> bit) & 1) | (((_planes[PlaneSizeInBytes + address] >> bit) & 1) << 1) |
            (((_planes[(2 * PlaneSizeInBytes) + address] >> bit) & 1) << 2) | (((_planes[(3 * PlaneSizeInBytes) + address] >> bit) & 1) << 3);
    }

    private VgaFrame RenderVbe()
    {
        int width = _vbe[VbeIndexXResolution];
        int height = _vbe[VbeIndexYResolution];
        int bpp = _vbe[VbeIndexBpp];
        if (bpp == VbePlanarBpp)
        {
            return RenderVbePlanar(width, height);
        }

        int bytesPerPixel = VbeBytesPerPixel;
        int lineBytes = VbeLineBytes;
        int memoryMask = _vram.SizeInBytes - 1;
        byte[] pixels = new byte[width * height * PixelSizeInBytes];
        byte[] line = new byte[width * bytesPerPixel];
        int start = (_vbe[VbeIndexYOffset] * lineBytes) + (_vbe[VbeIndexXOffset] * bytesPerPixel);
        for (int y = 0; y < height; y++)
        {
            int lineStart = (start + (y * lineBytes)) & memoryMask;
            if (lineStart >= PlanarAliasSizeInBytes && lineStart + line.Length <= _vram.SizeInBytes)
            {
                _vram.Read(lineStart, line); // past the planes, in one piece: straight from the chunks
            }
            else
            {
                for (int i = 0; i < line.Length; i++)
                {
                    line[i] = ReadVram((lineStart + i) & memoryMask);
                }
            }

            int outRow = y * width * PixelSizeInBytes;
            for (int x = 0; x < width; x++)
            {
                int i = x * bytesPerPixel;
                int rgb = bpp switch
                {
                    8 => DacRgb(line[i]),
                    15 => Rgb555(line[i] | (line[i + 1] << 8)),
                    16 => Rgb565(line[i] | (line[i + 1] << 8)),
                    _ => (line[i + 2] << 16) | (line[i + 1] << 8) | line[i], // 24 and 32: blue, green, red (, unused) in memory
                };
                SetPixel(pixels, outRow + (x * PixelSizeInBytes), rgb);
            }
        }

        return new VgaFrame(width, height, pixels);
    }

    /// <summary>
    /// The 4-bpp VBE mode: eight pixels a byte in each of the four planes (bit 7 leftmost, plane n giving colour bit n),
    /// VIRT_WIDTH / 8 bytes a line, through the attribute palette and the DAC as the VGA's 16-colour modes; X_OFFSET
    /// and Y_OFFSET pick the first pixel (to the dot).
    /// </summary>
    private VgaFrame RenderVbePlanar(int width, int height)
    {
        byte[] pixels = new byte[width * height * PixelSizeInBytes];
        Span<int> palette = stackalloc int[16];
        for (int i = 0; i < 16; i++)
        {
            palette[i] = GetTextColorRgb(i);
        }

        int pitch = _vbe[VbeIndexVirtualWidth] / 8;
        int xOffset = _vbe[VbeIndexXOffset];
        int start = _vbe[VbeIndexYOffset] * pitch;
        for (int y = 0; y < height; y++)
        {
            int outRow = y * width * PixelSizeInBytes;
            for (int x = 0; x < width; x++)
            {
                int dot = x + xOffset;
                int address = (start + (y * pitch) + (dot / 8)) & PlaneAddressMask;
                SetPixel(pixels, outRow + (x * PixelSizeInBytes), palette[PlanarPixel(address, dot)]);
            }
        }

        return new VgaFrame(width, height, pixels);
    }

    private static int Expand5(int value) => ((value * 255) + 15) / 31;

    private static int Rgb555(int pixel) => (Expand5((pixel >> 10) & 0x1F) << 16) | (Expand5((pixel >> 5) & 0x1F) << 8) | Expand5(pixel & 0x1F);

    private static int Rgb565(int pixel) => (Expand5((pixel >> 11) & 0x1F) << 16) | ((((((pixel >> 5) & 0x3F) * 255) + 31) / 63) << 8) | Expand5(pixel & 0x1F);
}
