using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Docs;

/// <summary>The hooks examples of docs/machine.md ("a hook that patches a port read", "MMIO hooks"), compiled and run: keep them in step.</summary>
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

    [Fact]
    public void MmioHooksWatchAndPatchTheVgaTextScreen()
    {
        // --- docs/machine.md MMIO example begins ---
        // A guest that writes "HI" to the VGA text screen (B800:0000, character then attribute per cell), reads the
        // first cell back into 500h, and halts.
        var asm = new Assembler(16);
        asm.mov(ax, 0xB800);
        asm.mov(ds, ax);
        asm.mov(__word_ptr[0], 0x0748);       // 'H', light grey on black
        asm.mov(__word_ptr[2], 0x0749);       // 'I'
        asm.mov(al, __byte_ptr[0]);
        asm.xor(bx, bx);
        asm.mov(ds, bx);
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

        // Observe: every write to the first text row, as the guest made it (address, width, value).
        var screen = new PhysicalAddress(VgaAdapter.TextMemoryBase);
        var writes = new List<(PhysicalAddress Address, int Width, ulong Value)>();
        using IDisposable watch = machine.Hooks.AddMmioWriteHook(screen, screen + 159, (PhysicalAddress address, int width, ref ulong value) =>
        {
            writes.Add((address, width, value));
            return true;                      // let it through (false would suppress it)
        });

        // Override: the guest reads '?' from the first cell's character byte, whatever the VGA memory holds.
        using IDisposable patch = machine.Hooks.AddMmioReadHook(screen, screen, (address, width, value) => (value & ~0xFFUL) | '?');

        machine.Run(maxInstructions: 1000);
        // --- docs/machine.md MMIO example ends ---

        Assert.Equal([(screen, 2, 0x0748UL), (screen + 2, 2, 0x0749UL)], writes);
        Assert.Equal((byte)'?', machine.Memory.ReadByte(new PhysicalAddress(0x500)));
        patch.Dispose();                      // host reads through machine.Memory pass the hooks too
        Assert.Equal((byte)'H', machine.Memory.ReadByte(screen));   // the screen itself is unchanged
    }
}
