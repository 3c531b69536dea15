using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Docs;

/// <summary>The hooks example of docs/machine.md ("a hook that patches a port read"), compiled and run: keep the two in step.</summary>
public sealed class HooksExampleTests
{
    [Fact]
    public void PortReadHookPatchesTheValueTheGuestReads()
    {
        // 1. A guest: read port 300h (no device there: it reads FFh), store AL at 500h, halt.
        var asm = new Assembler(16);
        asm.mov(dx, 0x300);
        asm.@in(al, dx);
        asm.mov(__byte_ptr[0x500], al);
        asm.cli();
        asm.hlt();
        var code = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(code), 0x7C00);

        using Machine machine = new MachineBuilder()
            .WithMemorySize(1UL << 20)
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
            .WithFlatBinary(code.ToArray(), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "example"))
            .Build();

        // 2. The hook: the guest reads 42h from port 300h, whatever the port space returned.
        using (IDisposable hook = machine.Hooks.AddPortReadHook(0x300, 0x300, (port, width, value) => 0x42))
        {
            MachineStopReason stop = machine.Run(maxInstructions: 1000);
            Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);
        }

        // 3. The guest stored what the hook returned.
        Assert.Equal(0x42, machine.Memory.ReadByte(new PhysicalAddress(0x500)));
    }
}
