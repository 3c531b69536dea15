using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Harness;

/// <summary>Real-mode guests at 0000:7C00 that print to COM1 (polling the line status register), for harness tests.</summary>
internal static class HarnessGuests
{
    /// <summary>Where the guest's NUL-terminated message sits in its 512-byte image.</summary>
    public const int MessageOffset = 0x100;

    /// <summary>Where the byte the exiting guest writes to isa-debug-exit sits in its image.</summary>
    public const int ExitValueOffset = 0x1F0;

    private const ushort LoadAddress = 0x7C00;
    private const ushort Com1Data = 0x3F8;
    private const ushort Com1LineStatus = 0x3FD;
    private const byte TransmitterHoldingEmpty = 0x20;
    private const ushort DebugExitPort = 0x501;

    /// <summary>What the guest does after its message.</summary>
    public enum Tail
    {
        /// <summary>Spins in a tight loop for ever.</summary>
        Loop,

        /// <summary>CLI; HLT: halted for good.</summary>
        Halt,

        /// <summary>Writes the byte at <see cref="ExitValueOffset"/> to isa-debug-exit (501h).</summary>
        Exit,

        /// <summary>Prints the message again, for ever.</summary>
        Repeat,
    }

    /// <summary>A 512-byte image that prints <paramref name="message"/> (ASCII, up to 200 bytes) on COM1, then does <paramref name="tail"/>.</summary>
    public static byte[] Image(string message, Tail tail)
    {
        var a = new Assembler(16);
        Label start = a.CreateLabel();
        Label next = a.CreateLabel();
        Label wait = a.CreateLabel();
        Label done = a.CreateLabel();
        a.Label(ref start);
        a.mov(si, LoadAddress + MessageOffset);
        a.Label(ref next);
        a.lodsb();
        a.test(al, al);
        a.jz(done);
        a.mov(ah, al);
        a.mov(dx, Com1LineStatus);
        a.Label(ref wait);
        a.@in(al, dx);
        a.test(al, TransmitterHoldingEmpty);
        a.jz(wait);
        a.mov(al, ah);
        a.mov(dx, Com1Data);
        a.@out(dx, al);
        a.jmp(next);
        a.Label(ref done);
        switch (tail)
        {
            case Tail.Loop:
                a.jmp(done); // jumps to itself: 'done' labels this instruction
                break;
            case Tail.Halt:
                a.cli();
                a.hlt();
                break;
            case Tail.Exit:
                a.mov(al, __byte_ptr[LoadAddress + ExitValueOffset]);
                a.mov(dx, DebugExitPort);
                a.@out(dx, al);
                a.cli();
                a.hlt();
                break;
            default:
                a.jmp(start);
                break;
        }

        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), LoadAddress);
        byte[] image = new byte[0x200];
        stream.ToArray().CopyTo(image, 0);
        byte[] text = System.Text.Encoding.ASCII.GetBytes(message);
        if (text.Length > ExitValueOffset - MessageOffset - 1)
        {
            throw new ArgumentException("The message is too long for the image.", nameof(message));
        }

        text.CopyTo(image, MessageOffset);
        return image;
    }

    /// <summary>A deterministic 16 MiB machine with COM1 captured and isa-debug-exit, booting <paramref name="image"/>.</summary>
    public static Machine Build(byte[] image, int captureCapacityInBytes = SerialCapture.DefaultCapacityInBytes) =>
        Builder(image, captureCapacityInBytes).Build();

    /// <summary>The builder of <see cref="Build"/>.</summary>
    public static MachineBuilder Builder(byte[] image, int captureCapacityInBytes = SerialCapture.DefaultCapacityInBytes) => new MachineBuilder()
        .WithMemorySize(16UL << 20)
        .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
        .WithSerialCapture(0, captureCapacityInBytes)
        .WithDebugExit()
        .WithFlatBinary(image, new PhysicalAddress(LoadAddress), BootEntryState.RealMode(0, LoadAddress, "harness guest"));
}
