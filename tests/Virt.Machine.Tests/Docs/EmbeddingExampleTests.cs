using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Docs;

/// <summary>The embedding example of docs/machine.md, compiled and run: keep the two in step.</summary>
public sealed class EmbeddingExampleTests
{
    [Fact]
    public void GuestSerialOutputCanBeAsserted()
    {
        // 1. A guest: real-mode code that sends "OK\r\n" to COM1 (polling the line status register), then halts.
        var asm = new Assembler(16);
        Label wait = asm.CreateLabel();
        Label next = asm.CreateLabel();
        Label done = asm.CreateLabel();
        asm.mov(si, 0x7C00 + 0x100);          // the message, placed 100h bytes into the image
        asm.Label(ref next);
        asm.lodsb();
        asm.test(al, al);
        asm.jz(done);
        asm.mov(ah, al);
        asm.mov(dx, 0x3FD);                   // COM1 line status register
        asm.Label(ref wait);
        asm.@in(al, dx);
        asm.test(al, 0x20);                   // transmitter holding register empty?
        asm.jz(wait);
        asm.mov(al, ah);
        asm.mov(dx, 0x3F8);                   // COM1 data register
        asm.@out(dx, al);
        asm.jmp(next);
        asm.Label(ref done);
        asm.cli();
        asm.hlt();                            // halted for good: the run ends
        var code = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(code), 0x7C00);
        byte[] image = new byte[0x200];
        code.ToArray().CopyTo(image, 0);
        "OK\r\n"u8.ToArray().CopyTo(image, 0x100);

        // 2. The machine: 16 MiB, COM1 captured in memory, deterministic time, the guest at 0000:7C00.
        var serial = new BufferCharacterSink();
        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithSerialPort(0, new CharacterSinkSerialBackend(serial))
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
            .WithFlatBinary(image, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "example"))
            .Build();

        // 3. Run with a budget and assert on what the guest said.
        MachineStopReason stop = machine.Run(maxInstructions: 1_000_000);
        Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);
        Assert.Equal("OK\r\n", serial.GetText());
    }
}
