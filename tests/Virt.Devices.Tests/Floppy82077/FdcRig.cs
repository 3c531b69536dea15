using Virt.Devices.Tests.Dma8237;
using Virt.Devices.Tests.Fakes;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Floppy82077;

/// <summary>A floppy controller on DMA channel 2 with a fake guest memory, a manual clock and the ports a guest uses.</summary>
internal sealed class FdcRig
{
    public const ushort Dor = 0x3F2;
    public const ushort Msr = 0x3F4;
    public const ushort Fifo = 0x3F5;
    public const ushort Dir = 0x3F7;

    /// <summary>DMA mode register values for channel 2: single transfer, write to memory / read from memory.</summary>
    public const byte DmaWrite = 0x46;
    public const byte DmaRead = 0x4A;

    private readonly IoPortSpace _ports = new();

    public FdcRig(params IBlockDevice?[] media)
    {
        Dma = new Devices.Dma8237(Memory);
        Fdc = new Devices.Floppy82077(Clock, Irq, Dma.GetChannel(2), media);
        foreach (PortBinding binding in Dma.PortBindings.Concat(Fdc.PortBindings))
        {
            _ports.Register(binding.Name, binding.FirstPort, binding.Count, binding.Device);
        }

        DmaPorts = new Dma8237TestPorts(Dma);
    }

    public ManualClock Clock { get; } = new();

    public RecordingInterruptLine Irq { get; } = new();

    public ArrayGuestMemory Memory { get; } = new(1 << 20);

    public Devices.Dma8237 Dma { get; }

    public Devices.Floppy82077 Fdc { get; }

    public Dma8237TestPorts DmaPorts { get; }

    public byte In(ushort port) => (byte)_ports.Read(port, 1);

    public void Out(ushort port, byte value) => _ports.Write(port, 1, value);

    /// <summary>Resets the controller through the DOR (reset, then DMA gate and drive A's motor) and waits for its interrupt.</summary>
    public void ResetThroughDor()
    {
        Out(Dor, 0x00);
        Out(Dor, 0x1C);
        Clock.Advance(Devices.Floppy82077.CommandDelayNanoseconds);
    }

    /// <summary>Resets and clears the four reset interrupts, ready for commands at 500 kbit/s.</summary>
    public void ResetAndSense(int dataRate = 0)
    {
        ResetThroughDor();
        for (int i = 0; i < 4; i++)
        {
            Command(0x08);
            _ = Results();
        }

        Out(Dir, (byte)dataRate);
    }

    /// <summary>Writes a command, checking before each byte that the controller asks for one (RQM set, DIO clear).</summary>
    public void Command(params byte[] bytes)
    {
        foreach (byte b in bytes)
        {
            Assert.Equal(0x80, In(Msr) & 0xC0);
            Out(Fifo, b);
        }
    }

    /// <summary>Reads the result phase while the MSR offers bytes (RQM and DIO set).</summary>
    public byte[] Results()
    {
        var result = new List<byte>();
        while ((In(Msr) & 0xC0) == 0xC0 && (In(Msr) & 0x20) == 0 && result.Count < 16)
        {
            result.Add(In(Fifo));
        }

        return [.. result];
    }

    /// <summary>A command with an interrupt: the bytes, the delay, then the result.</summary>
    public byte[] Run(params byte[] bytes)
    {
        Command(bytes);
        Clock.Advance(Devices.Floppy82077.SeekDelayNanoseconds);
        return Results();
    }

    public void Seek(int drive, int head, int cylinder)
    {
        Command(0x0F, (byte)((head << 2) | drive), (byte)cylinder);
        Clock.Advance(Devices.Floppy82077.SeekDelayNanoseconds);
        Command(0x08);
        byte[] sense = Results();
        Assert.Equal(new byte[] { (byte)(0x20 | (head << 2) | drive), (byte)cylinder }, sense);
    }

    /// <summary>READ DATA (E6h: MT, MFM, SK) or WRITE DATA (C5h) of C/H/R to EOT.</summary>
    public static byte[] DataCommand(byte opcode, int drive, int cylinder, int head, int sector, int endOfTrack) =>
        [opcode, (byte)((head << 2) | drive), (byte)cylinder, (byte)head, (byte)sector, 2, (byte)endOfTrack, 0x1B, 0xFF];
}
