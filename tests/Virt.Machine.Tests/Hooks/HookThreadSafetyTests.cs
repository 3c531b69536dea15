using System.Collections.Concurrent;
using Iced.Intel;
using Virt.Cpu;
using Virt.Machine.Tests.Running;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Hooks;

/// <summary>Adding and removing hooks, and pausing, from another thread while the machine runs (MachineHooks.Threading.cs).</summary>
public sealed class HookThreadSafetyTests
{
    private const ushort Origin = HookTestMachine.Origin;
    private const uint Counter = 0x500;

    /// <summary>How long a hook may take to fire once added: only a guard against a hang, never reached when it works.</summary>
    private static readonly TimeSpan s_fireGuard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task HooksAddedAndRemovedFromAnotherThreadFireAfterAdditionAndNeverAfterRemoval()
    {
        (byte[] code, uint loop) = LoopForever();
        using Machine machine = HookTestMachine.Build(code, "thread safety");
        Task<MachineStopReason> run = machine.RunAsync(maxInstructions: null, timeout: TimeSpan.FromMinutes(5));
        var violations = new ConcurrentQueue<string>();
        Func<Action, IDisposable>[] kinds =
        [
            fired => machine.Hooks.AddBlockHook(_ => fired()),
            fired => machine.Hooks.AddInstructionCountHook(1, _ => fired(), periodic: true),
            fired => machine.Hooks.AddCodeHook(loop, _ => fired()),
            fired => machine.Hooks.AddExceptionHook((ref CpuExceptionEvent _) => fired()),
            fired => machine.Hooks.AddPortWriteHook(0x80, 0x80, (ushort _, int _, ref uint _) =>
            {
                fired();
                return true;
            }),
            fired => machine.Hooks.AddMemoryWatch(Counter, 2, MemoryWatchKind.Write, _ => fired()),
        ];

        for (int round = 0; round < 20; round++)
        {
            for (int kind = 0; kind < kinds.Length; kind++)
            {
                int calls = 0;
                int removed = 0;
                string name = $"kind {kind}, round {round}";
                IDisposable hook = kinds[kind](() =>
                {
                    if (Volatile.Read(ref removed) != 0)
                    {
                        violations.Enqueue($"{name}: called after its removal returned");
                    }

                    Interlocked.Increment(ref calls);
                });

                Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref calls) > 0 || run.IsCompleted, s_fireGuard), $"{name}: never fired");
                Assert.False(run.IsCompleted, $"{name}: the run ended");
                hook.Dispose();
                Volatile.Write(ref removed, 1);
            }
        }

        // A change that fails on the machine's thread is the caller's exception; the run goes on.
        Assert.ThrowsAny<ArgumentException>(() => machine.Hooks.AddMemoryWatch(Counter, 0, MemoryWatchKind.Write, _ => { }));

        machine.Pause();
        MachineStopReason stop = await run;

        Assert.Equal(MachineStopKind.Paused, stop.Kind);
        Assert.Empty(violations);
        Assert.Empty(machine.Hooks.CodeHookAddresses);
        Assert.Null(machine.Cpu.BlockHook);
        Assert.Null(machine.Cpu.InstructionCountHook);
        Assert.Null(machine.Cpu.ExceptionHook);
    }

    [Fact]
    public async Task PauseFromAnotherThreadStopsARunningGuest()
    {
        (byte[] code, _) = LoopForever();
        using Machine machine = HookTestMachine.Build(code, "pause");
        int blocks = 0;
        using IDisposable hook = machine.Hooks.AddBlockHook(_ => Interlocked.Increment(ref blocks));
        Task<MachineStopReason> run = machine.RunAsync(maxInstructions: null, timeout: TimeSpan.FromMinutes(5));
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref blocks) > 1000, s_fireGuard));

        machine.Pause();
        MachineStopReason stop = await run;

        Assert.Equal(MachineStopKind.Paused, stop.Kind);
        Assert.Equal("Pause() was called", stop.Detail);
    }

    /// <summary>
    /// Real mode: IVT[60h] → an IRET; then for ever: INC AX, store AX at 500h, OUT 80h, INT 60h. Also the loop's address.
    /// </summary>
    private static (byte[] Code, uint Loop) LoopForever()
    {
        static void Prefix(Assembler a)
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            a.mov(__word_ptr[0x60 * 4], 0x7D00);
            a.mov(__word_ptr[(0x60 * 4) + 2], 0);
        }

        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            Label loop = a.CreateLabel();
            Prefix(a);
            a.Label(ref loop);
            a.inc(ax);
            a.mov(__word_ptr[Counter], ax);
            a.@out(0x80, al);
            a.@int(0x60);
            a.jmp(loop);
        });
        byte[] handler = GuestPrograms.Assemble16(0x7D00, a => a.iret());
        return (GuestPrograms.WithHandlerAt100h(code, handler), Origin + (uint)GuestPrograms.Assemble16(Origin, Prefix).Length);
    }
}
