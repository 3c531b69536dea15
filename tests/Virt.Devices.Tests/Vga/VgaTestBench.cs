using Virt.Memory;

namespace Virt.Devices.Tests.Vga;

/// <summary>Drives a <see cref="VgaAdapter"/> through its ports and its A0000h window, as a guest would.</summary>
internal sealed class VgaTestBench
{
    public VgaTestBench(VgaOptions? options = null) => Vga = new VgaAdapter(options);

    public VgaAdapter Vga { get; }

    public void Out(ushort port, byte value) => Handler(port, out ushort offset).Write(offset, 1, value);

    public byte In(ushort port) => (byte)Handler(port, out ushort offset).Read(offset, 1);

    public void OutWord(ushort port, ushort value) => Handler(port, out ushort offset).Write(offset, 2, value);

    public ushort InWord(ushort port) => (ushort)Handler(port, out ushort offset).Read(offset, 2);

    public void Sequencer(byte index, byte value)
    {
        Out(0x3C4, index);
        Out(0x3C5, value);
    }

    public void Graphics(byte index, byte value)
    {
        Out(0x3CE, index);
        Out(0x3CF, value);
    }

    public void Crtc(byte index, byte value)
    {
        Out(0x3D4, index);
        Out(0x3D5, value);
    }

    public void Attribute(byte index, byte value)
    {
        In(0x3DA); // reset the flip-flop to "index"
        Out(0x3C0, index);
        Out(0x3C0, value);
        Out(0x3C0, 0x20); // palette address source: display on
    }

    public void Dac(byte index, byte red, byte green, byte blue)
    {
        Out(0x3C8, index);
        Out(0x3C9, red);
        Out(0x3C9, green);
        Out(0x3C9, blue);
    }

    public void Vbe(int index, ushort value)
    {
        OutWord(VgaAdapter.VbeIndexPort, (ushort)index);
        OutWord(VgaAdapter.VbeDataPort, value);
    }

    public ushort VbeRead(int index)
    {
        OutWord(VgaAdapter.VbeIndexPort, (ushort)index);
        return InWord(VgaAdapter.VbeDataPort);
    }

    /// <summary>A byte write at a physical address in A0000h-BFFFFh.</summary>
    public void Poke(uint address, byte value) => Vga.LegacyMemoryWindow.Write(new RegionOffset(address - VgaAdapter.LegacyMemoryBase), 1, value);

    public byte Peek(uint address) => (byte)Vga.LegacyMemoryWindow.Read(new RegionOffset(address - VgaAdapter.LegacyMemoryBase), 1);

    /// <summary>The IBM register values of mode 13h (320x200, 256 colours, chain-4), as a BIOS sets them.</summary>
    public void SetMode13h()
    {
        Out(0x3C2, 0x63);
        byte[] sequencer = [0x03, 0x01, 0x0F, 0x00, 0x0E];
        for (byte i = 0; i < sequencer.Length; i++)
        {
            Sequencer(i, sequencer[i]);
        }

        Crtc(0x11, 0x0E); // unlock 00h-07h
        byte[] crtc = [0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9C, 0x0E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF];
        for (byte i = 0; i < crtc.Length; i++)
        {
            Crtc(i, crtc[i]);
        }

        byte[] graphics = [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF];
        for (byte i = 0; i < graphics.Length; i++)
        {
            Graphics(i, graphics[i]);
        }

        byte[] attribute = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x41, 0x00, 0x0F, 0x00, 0x00];
        for (byte i = 0; i < attribute.Length; i++)
        {
            Attribute(i, attribute[i]);
        }
    }

    /// <summary>The IBM register values of mode 12h (640x480, 16 colours, planar).</summary>
    public void SetMode12h()
    {
        Out(0x3C2, 0xE3);
        byte[] sequencer = [0x03, 0x01, 0x0F, 0x00, 0x06];
        for (byte i = 0; i < sequencer.Length; i++)
        {
            Sequencer(i, sequencer[i]);
        }

        Crtc(0x11, 0x0C);
        byte[] crtc = [0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0x0B, 0x3E, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xEA, 0x8C, 0xDF, 0x28, 0x00, 0xE7, 0x04, 0xE3, 0xFF];
        for (byte i = 0; i < crtc.Length; i++)
        {
            Crtc(i, crtc[i]);
        }

        byte[] graphics = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0F, 0xFF];
        for (byte i = 0; i < graphics.Length; i++)
        {
            Graphics(i, graphics[i]);
        }

        byte[] attribute = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x01, 0x00, 0x0F, 0x00, 0x00];
        for (byte i = 0; i < attribute.Length; i++)
        {
            Attribute(i, attribute[i]);
        }
    }

    private IPortDevice Handler(ushort port, out ushort offset)
    {
        foreach (PortBinding binding in Vga.PortBindings)
        {
            if (port >= binding.FirstPort && port < binding.FirstPort + binding.Count)
            {
                offset = (ushort)(port - binding.FirstPort);
                return binding.Device;
            }
        }

        throw new InvalidOperationException($"port {port:X} not bound");
    }
}
