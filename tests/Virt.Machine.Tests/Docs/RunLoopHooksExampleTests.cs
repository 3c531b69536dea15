using Iced.Intel;
using Virt.Cpu;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Docs;

/// <summary>The coverage and exception hook examples of docs/machine.md, compiled and run: keep them in step.</summary>
public sealed class RunLoopHooksExampleTests
{
    [Fact]
    public void CoverageHookCollectsTheBlocksAGuestRuns()
    {
        // --- docs/machine.md coverage example begins ---
        // A guest with two paths: odd iterations count in BX, even ones in AX.
        var asm = new Assembler(16);
        Label loop = asm.CreateLabel();
        Label odd = asm.CreateLabel();
        Label next = asm.CreateLabel();
        asm.mov(cx, 10);
        asm.Label(ref loop);
        asm.test(cl, 1);
        asm.jnz(odd);
        asm.inc(ax);
        asm.jmp(next);
        asm.Label(ref odd);
        asm.inc(bx);
        asm.Label(ref next);
        asm.loop(loop);
        asm.cli();
        asm.hlt();
        var code = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(code), 0x7C00);

        using Machine machine = new MachineBuilder()
            .WithMemorySize(1UL << 20)
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
            .WithFlatBinary(code.ToArray(), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "example"))
            .Build();

        // Coverage: the start address of every block run inside the guest's code, and how often blocks were entered.
        // The context object is reused for every call: nothing is allocated per block.
        var coverage = new HashSet<ulong>();
        long entries = 0;
        using (machine.Hooks.AddBlockHook(0x7C00, 0x7DFF, block =>
        {
            coverage.Add(block.LinearAddress);
            entries++;
        }))
        {
            Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 10_000).Kind);
        }
        // --- docs/machine.md coverage example ends ---

        // Both paths ran: the block at "odd" (INC BX) and the one after the JNZ (INC AX), besides the start, the loop head,
        // "next" and the halt.
        Assert.Contains(0x7C00UL, coverage);
        Assert.True(coverage.Count >= 5, string.Join(", ", coverage.Select(a => a.ToString("X"))));
        Assert.True(entries >= 20, $"{entries} block entries");
        Assert.Equal(5UL, machine.Cpu.GetRegister(GeneralRegister.Rax) & 0xFFFF);
        Assert.Equal(5UL, machine.Cpu.GetRegister(GeneralRegister.Rbx) & 0xFFFF);
    }

    [Fact]
    public void ExceptionHookSkipsAFaultAndEmulatesASoftwareInterrupt()
    {
        // --- docs/machine.md exception example begins ---
        // A guest that divides by zero (#DE), then asks "the system" for a number with INT 21h and stores it at 500h.
        var asm = new Assembler(16);
        asm.xor(ax, ax);
        asm.mov(ds, ax);
        asm.mov(ax, 100);
        asm.xor(bl, bl);
        asm.div(bl);                          // #DE: the guest has no handler for it
        asm.mov(ah, 0x30);
        asm.@int(0x21);                       // nor for INT 21h
        asm.mov(__word_ptr[0x500], ax);
        asm.cli();
        asm.hlt();
        var code = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(code), 0x7C00);

        using Machine machine = new MachineBuilder()
            .WithMemorySize(1UL << 20)
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
            .WithFlatBinary(code.ToArray(), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "example"))
            .Build();

        var log = new List<string>();
        using IDisposable hook = machine.Hooks.AddExceptionHook((ref CpuExceptionEvent e) =>
        {
            if (e.Source == CpuEventSource.Exception && e.Vector == 0)
            {
                // A fault: RIP is on the DIV, nothing was pushed. Skip it (Suppress would re-execute it).
                log.Add($"#DE at {e.Rip:X}, next instruction at {e.NextRip:X}");
                e.Skip();
            }
            else if (e.Source == CpuEventSource.Software && e.Vector == 0x21)
            {
                // INT 21h, served by the host: RIP is already past the INT, so Suppress continues there.
                machine.Cpu.SetRegister(GeneralRegister.Rax, 0x0716);
                e.Suppress();
            }
        });

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);
        // --- docs/machine.md exception example ends ---

        Assert.Equal(["#DE at 7C09, next instruction at 7C0B"], log);
        Assert.Equal(0x16, machine.Memory.ReadByte(new PhysicalAddress(0x500)));
        Assert.Equal(0x07, machine.Memory.ReadByte(new PhysicalAddress(0x501)));
    }
}
