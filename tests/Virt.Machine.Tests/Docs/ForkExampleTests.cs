using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Docs;

/// <summary>The fork-and-rewind example of docs/snapshots.md ("Boot once, run a thousand cases"), compiled and run: keep the two in step.</summary>
public sealed class ForkExampleTests
{
    [Fact]
    public async Task BootOnceThenRunAThousandCasesByRewindAndByFork()
    {
        // --- docs/snapshots.md fork example begins ---
        // A guest that "boots" (prints READY on COM1), then reads its test case (a word at 600h), mixes it with a counter
        // it keeps in RAM at 700h, and exits through isa-debug-exit with the low byte. Every case must start from the
        // booted state: were the counter not put back, the results would drift.
        var asm = new Assembler(16);
        asm.mov(dx, 0x3F8);
        foreach (char c in "READY\n")
        {
            asm.mov(al, (byte)c);
            asm.@out(dx, al);
        }

        asm.mov(ax, __word_ptr[0x600]);
        asm.imul(ax, ax, 7);
        asm.add(ax, __word_ptr[0x700]);
        asm.inc(__word_ptr[0x700]);
        asm.mov(dx, 0x501);
        asm.@out(dx, al);                     // exit code (AL << 1) | 1
        asm.cli();
        asm.hlt();
        var code = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(code), 0x7C00);

        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithSerialCapture(0)
            .WithDebugExit()
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
            .WithFlatBinary(code.ToArray(), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "cases"))
            .Build();

        // 1. Boot once.
        SerialWaitResult ready = await machine.WaitForSerialAsync("READY\n", instructionBudget: 1_000_000, timeout: TimeSpan.FromSeconds(30));

        // 2a. A thousand cases on this machine: checkpoint the booted state, rewind after each case (the cost of a rewind
        //     follows the pages the case wrote, not the RAM size).
        MachineCheckpoint booted = machine.Checkpoint();
        int[] exitCodes = new int[1000];
        for (int input = 0; input < exitCodes.Length; input++)
        {
            machine.Memory.WriteWord(new PhysicalAddress(0x600), (ushort)input);
            MachineStopReason stop = machine.Run(maxInstructions: 100_000);
            exitCodes[input] = stop.ExitCode ?? -1;
            machine.Rewind(booted);
        }

        // 2b. The same cases on four threads: each fork shares the booted RAM copy-on-write and rewinds to its own
        //     checkpoint. Fork() takes well under a millisecond, so a fork per case works too.
        int[] parallelExitCodes = new int[1000];
        const int Workers = 4;
        Task[] workers = [.. Enumerable.Range(0, Workers).Select(worker =>
        {
            Machine fork = machine.Fork();      // on this thread, while the parent is not running
            return Task.Run(() =>
            {
                using (fork)
                {
                    MachineCheckpoint start = fork.Checkpoint();
                    for (int input = worker; input < parallelExitCodes.Length; input += Workers)
                    {
                        fork.Memory.WriteWord(new PhysicalAddress(0x600), (ushort)input);
                        parallelExitCodes[input] = fork.Run(maxInstructions: 100_000).ExitCode ?? -1;
                        fork.Rewind(start);
                    }
                }
            });
        })];
        await Task.WhenAll(workers);
        // --- docs/snapshots.md fork example ends ---

        Assert.True(ready.Found);
        for (int input = 0; input < exitCodes.Length; input++)
        {
            int expected = (((input * 7) & 0xFF) << 1) | 1;     // the counter is 0 in the booted state, every time
            Assert.Equal(expected, exitCodes[input]);
            Assert.Equal(expected, parallelExitCodes[input]);
        }
    }
}
