using Iced.Intel;
using Virt.Cpu;
using Virt.Machine.Tests.Running;
using Virt.Machine.Tests.Snapshots;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Hooks;

/// <summary>Block, instruction-count, exception and triple-fault hooks (MachineHooks.Execution.cs).</summary>
public sealed class RunLoopHooksTests
{
    private const ushort Origin = HookTestMachine.Origin;
    private const uint Result = 0x500;

    [Fact]
    public void BlockHookSeesEveryBlockEntryWithItsLength()
    {
        (byte[] code, uint loop) = CountedLoop(10);
        using Machine machine = Build(code);
        var entries = new List<(ulong Linear, int Length, int Count)>();
        using IDisposable hook = machine.Hooks.AddBlockHook(c => entries.Add((c.LinearAddress, c.LengthInBytes, c.InstructionCount)));

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);

        // mov cx,10 / inc ax / loop: one block from the origin; then the loop body, entered again by each of the 9 taken
        // LOOPs: inc ax (1 byte) and loop (2 bytes).
        Assert.Equal(Origin, entries[0].Linear);
        Assert.Equal(3, entries[0].Count);
        Assert.Equal(9, entries.Count(e => e.Linear == loop));
        Assert.All(entries.Where(e => e.Linear == loop), e => Assert.Equal((3, 2), (e.Length, e.Count)));
        Assert.Equal(10UL, machine.Cpu.GetRegister(GeneralRegister.Rax) & 0xFFFF);
    }

    [Fact]
    public void BlockHookWithARangeSeesOnlyBlocksStartingInIt()
    {
        (byte[] code, uint loop) = CountedLoop(10);
        using Machine machine = Build(code);
        var inRange = new List<ulong>();
        using IDisposable hook = machine.Hooks.AddBlockHook(loop, loop, c => inRange.Add(c.LinearAddress));

        machine.Run(maxInstructions: 1000);

        Assert.Equal(9, inRange.Count);
        Assert.All(inRange, linear => Assert.Equal(loop, linear));
    }

    [Fact]
    public void BlockHookAllocatesNothingPerCall()
    {
        // 65536 iterations: as many block entries.
        (byte[] code, _) = CountedLoop(0);
        using Machine plain = Build(code);
        using Machine hooked = Build(code);
        long calls = 0;
        using IDisposable hook = hooked.Hooks.AddBlockHook(_ => calls++);

        long before = GC.GetAllocatedBytesForCurrentThread();
        plain.Run(maxInstructions: 1_000_000);
        long plainBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        hooked.Run(maxInstructions: 1_000_000);
        long hookedBytes = GC.GetAllocatedBytesForCurrentThread() - before;

        // Even 1 byte per call would be 64 KiB; the bound leaves room for the one context object and JIT-time noise.
        Assert.True(calls > 65_000, $"{calls} calls");
        Assert.True(hookedBytes - plainBytes < 16 * 1024, $"{hookedBytes - plainBytes} bytes more with the hook over {calls} calls");
    }

    [Fact]
    public void BlockHookThatMovesRipSkipsTheBlock()
    {
        // The hook jumps over the guest's "mov byte [500h], 1" block to the halt.
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            Label skip = a.CreateLabel();
            Label halt = a.CreateLabel();
            a.jmp(skip);
            a.Label(ref skip);
            a.mov(__byte_ptr[Result], 1);
            a.Label(ref halt);
            a.cli();
            a.hlt();
        });
        uint skipAt = Origin + 2;   // jmp short: 2 bytes
        uint haltAt = skipAt + 5;   // mov byte [500h], 1: C6 06 00 05 01
        using Machine machine = Build(code);
        using IDisposable hook = machine.Hooks.AddBlockHook(skipAt, skipAt, c => c.Cpu.Rip = haltAt);

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 100).Kind);
        Assert.Equal(0, machine.Memory.ReadByte(new PhysicalAddress(Result)));
    }

    [Fact]
    public void InstructionCountHookStopsExactlyAfterTheCount()
    {
        (byte[] code, _) = CountedLoop(0);
        using Machine machine = Build(code);
        long seen = 0;
        using IDisposable hook = machine.Hooks.AddInstructionCountHook(1001, c =>
        {
            seen = c.RetiredInstructions;
            c.Stop();
        });

        MachineStopReason stop = machine.Run(maxInstructions: 1_000_000);

        Assert.Equal(MachineStopKind.Paused, stop.Kind);
        Assert.Equal(1001, seen);
        Assert.Equal(1001, machine.Cpu.RetiredInstructions);

        // mov cx,0 then 500 × (inc ax, loop): the 1001st instruction is the 500th LOOP, so AX = 500.
        Assert.Equal(500UL, machine.Cpu.GetRegister(GeneralRegister.Rax) & 0xFFFF);
    }

    [Fact]
    public void InstructionCountHookIsExactInsideARepString()
    {
        const int setup = 5;   // xor ax,ax / mov es,ax / mov di,1000h / mov cx,5000 / cld
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            a.xor(ax, ax);
            a.mov(es, ax);
            a.mov(di, 0x1000);
            a.mov(cx, 5000);
            a.cld();
            a.rep.stosb();
            a.cli();
            a.hlt();
        });
        using Machine machine = Build(code);
        using IDisposable hook = machine.Hooks.AddInstructionCountHook(1234, c => c.Stop());

        Assert.Equal(MachineStopKind.Paused, machine.Run(maxInstructions: 100_000).Kind);

        Assert.Equal(1234, machine.Cpu.RetiredInstructions);
        Assert.Equal((ulong)(5000 - (1234 - setup)), machine.Cpu.GetRegister(GeneralRegister.Rcx) & 0xFFFF);

        // The REP resumes where it stopped and finishes.
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 100_000).Kind);
        Assert.Equal(0UL, machine.Cpu.GetRegister(GeneralRegister.Rcx) & 0xFFFF);
    }

    [Fact]
    public void PeriodicInstructionCountHookFiresEveryPeriod()
    {
        (byte[] code, _) = CountedLoop(0);
        using Machine machine = Build(code);
        var counts = new List<long>();
        using IDisposable hook = machine.Hooks.AddInstructionCountHook(1000, c => counts.Add(c.RetiredInstructions), periodic: true);

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1_000_000).Kind);

        long retired = machine.Cpu.RetiredInstructions;
        Assert.Equal(retired / 1000, counts.Count);
        Assert.Equal(Enumerable.Range(1, counts.Count).Select(i => i * 1000L), counts);
    }

    [Fact]
    public void InstructionCountHookCanChangeStateAndCancelItself()
    {
        // 100 × (inc ax, loop), then store BX at 500h.
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            Label loop = a.CreateLabel();
            a.xor(bx, bx);
            a.mov(cx, 100);
            a.Label(ref loop);
            a.inc(ax);
            a.loop(loop);
            a.mov(__word_ptr[Result], bx);
            a.cli();
            a.hlt();
        });
        using Machine machine = Build(code);
        int calls = 0;
        using IDisposable hook = machine.Hooks.AddInstructionCountHook(50, c =>
        {
            calls++;
            c.Cpu.SetRegister(GeneralRegister.Rbx, c.Cpu.GetRegister(GeneralRegister.Rbx) + 0x1234);
            c.Cancel();
        }, periodic: true);

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 10_000).Kind);
        Assert.Equal(1, calls);
        Assert.Equal(0x1234, ReadWord(machine, Result));
    }

    [Fact]
    public void ExceptionHookObservesTheFaultOnTheFaultingInstruction()
    {
        (byte[] code, uint div) = DivideErrorGuest();
        using Machine machine = Build(code);
        var seen = new List<CpuExceptionEvent>();
        using IDisposable hook = machine.Hooks.AddExceptionHook((ref CpuExceptionEvent e) => seen.Add(e));

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);

        CpuExceptionEvent fault = Assert.Single(seen);
        Assert.Equal(0, fault.Vector);
        Assert.Equal(CpuEventSource.Exception, fault.Source);
        Assert.Equal((ulong)div, fault.Rip);
        Assert.Equal(fault.Rip + 2, fault.NextRip);   // div bl: F6 F3
        Assert.Equal(-1, fault.ErrorCode);
        Assert.Equal(1, machine.Memory.ReadByte(new PhysicalAddress(0x600)));   // the guest's handler ran
        Assert.Equal(0, machine.Memory.ReadByte(new PhysicalAddress(0x601)));
    }

    [Fact]
    public void ExceptionHookCanSkipTheFaultingInstruction()
    {
        (byte[] code, _) = DivideErrorGuest();
        using Machine machine = Build(code);
        using IDisposable hook = machine.Hooks.AddExceptionHook((ref CpuExceptionEvent e) => e.Skip());

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);

        Assert.Equal(0, machine.Memory.ReadByte(new PhysicalAddress(0x600)));   // not delivered
        Assert.Equal(2, machine.Memory.ReadByte(new PhysicalAddress(0x601)));   // went on after the DIV
    }

    [Fact]
    public void ExceptionHookCanFixTheCauseAndRetryTheInstruction()
    {
        (byte[] code, _) = DivideErrorGuest();
        using Machine machine = Build(code);
        Machine m = machine;
        using IDisposable hook = machine.Hooks.AddExceptionHook((ref CpuExceptionEvent e) =>
        {
            m.Cpu.SetRegister(GeneralRegister.Rbx, 7);   // the divisor is no longer 0
            e.Suppress();                                  // resume at the DIV itself
        });

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);

        Assert.Equal(0, machine.Memory.ReadByte(new PhysicalAddress(0x600)));
        Assert.Equal(2, machine.Memory.ReadByte(new PhysicalAddress(0x601)));
        Assert.Equal(100UL / 7, machine.Cpu.GetRegister(GeneralRegister.Rax) & 0xFF);
    }

    [Fact]
    public void ExceptionHookCanRedirectToAnotherVector()
    {
        (byte[] code, _) = DivideErrorGuest();
        using Machine machine = Build(code);
        var order = new List<string>();
        using IDisposable first = machine.Hooks.AddExceptionHook((ref CpuExceptionEvent e) =>
        {
            order.Add($"first {e.Vector}");
            e.Vector = 0x60;
        });
        using IDisposable second = machine.Hooks.AddExceptionHook((ref CpuExceptionEvent e) => order.Add($"second {e.Vector}"));

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);

        Assert.Equal(["first 0", "second 96"], order);   // in the order added, each seeing the previous one's change
        Assert.Equal(0, machine.Memory.ReadByte(new PhysicalAddress(0x600)));
        Assert.Equal(3, machine.Memory.ReadByte(new PhysicalAddress(0x602)));   // the handler of vector 60h ran
    }

    [Fact]
    public void ExceptionHookCanEmulateASoftwareInterrupt()
    {
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.@int(0x21);
            a.mov(__word_ptr[Result], ax);
            a.cli();
            a.hlt();
        });
        using Machine machine = Build(code);
        Machine m = machine;
        using IDisposable hook = machine.Hooks.AddExceptionHook((ref CpuExceptionEvent e) =>
        {
            if (e.Source == CpuEventSource.Software && e.Vector == 0x21)
            {
                m.Cpu.SetRegister(GeneralRegister.Rax, 0x4242);
                e.Suppress();   // a software interrupt's RIP is already the next instruction
            }
        });

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);
        Assert.Equal(0x4242, ReadWord(machine, Result));
    }

    [Fact]
    public void TripleFaultHookCanStopInsteadOfReset()
    {
        // An IVT limit of 0: #UD cannot be delivered, nor the #DF made of it: the CPU shuts down.
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(__word_ptr[0x700], 0);      // limit 0
            a.mov(__dword_ptr[0x702], 0);     // base 0
            a.lidt(__[0x700]);
            a.ud2();
        });
        using Machine machine = Build(code);
        var proposals = new List<TripleFaultAction>();
        int exceptions = 0;
        using IDisposable observe = machine.Hooks.AddExceptionHook((ref CpuExceptionEvent _) => exceptions++);
        using IDisposable hook = machine.Hooks.AddTripleFaultHook((report, proposed) =>
        {
            proposals.Add(proposed);
            Assert.NotEmpty(report.Exceptions);
            return TripleFaultAction.Stop;
        });

        MachineStopReason stop = machine.Run(maxInstructions: 1000);

        Assert.Equal(MachineStopKind.Shutdown, stop.Kind);
        Assert.Equal([TripleFaultAction.Reset], proposals);   // the machine's default: reset
        Assert.Equal(1, exceptions);                           // the #UD; the faults while delivering it are not hooked
        Assert.True(machine.Cpu.IsShutdown);
    }

    [Fact]
    public void NoOpHooksOfEveryNewKindLeaveTheRunIdentical()
    {
        byte[] code = InterruptDrivenGuest();
        using Machine plain = Build(code);
        MachineStopReason plainStop = plain.Run(maxInstructions: 5_000_000);

        using Machine hooked = Build(code);
        long blocks = 0;
        long counts = 0;
        int exceptions = 0;
        using IDisposable block = hooked.Hooks.AddBlockHook(_ => blocks++);
        using IDisposable count7 = hooked.Hooks.AddInstructionCountHook(7, _ => counts++, periodic: true);
        using IDisposable count1000 = hooked.Hooks.AddInstructionCountHook(1000, _ => counts++, periodic: true);
        using IDisposable exception = hooked.Hooks.AddExceptionHook((ref CpuExceptionEvent _) => exceptions++);
        using IDisposable triple = hooked.Hooks.AddTripleFaultHook((_, proposed) => proposed);
        MachineStopReason hookedStop = hooked.Run(maxInstructions: 5_000_000);

        Assert.Equal(MachineStopKind.DebugExit, plainStop.Kind);
        Assert.Equal(plainStop.Kind, hookedStop.Kind);
        Assert.Equal(plainStop.ExitCode, hookedStop.ExitCode);
        Assert.True(blocks > 1000 && counts > 1000 && exceptions > 0, $"{blocks} blocks, {counts} counts, {exceptions} exceptions");
        Assert.Equal(plain.Cpu.RetiredInstructions, hooked.Cpu.RetiredInstructions);
        Assert.Equal(plain.Clock.NowNanoseconds, hooked.Clock.NowNanoseconds);
        Assert.Equal(SnapshotGuest.RamHash(plain), SnapshotGuest.RamHash(hooked));
        Assert.Equal(CpuStateText(plain), CpuStateText(hooked));
    }

    /// <summary>The CPU state as text, for an equality that covers every register the snapshot record holds.</summary>
    private static string CpuStateText(Machine machine) => System.Text.Json.JsonSerializer.Serialize(machine.Cpu.SaveState());

    /// <summary>
    /// IRQ0 at 1 kHz counts in BX; the main loop does REP STOSB, arithmetic and INT 60h (a software interrupt whose
    /// handler is an IRET) until BX reaches 30, then exits through isa-debug-exit with the low byte of the sum.
    /// </summary>
    private static byte[] InterruptDrivenGuest()
    {
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            Label loop = a.CreateLabel();
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            a.xor(bx, bx);
            a.xor(si, si);
            GuestPrograms.InitializePics(a, masterMask: 0xFE, slaveMask: 0xFF);
            a.mov(__word_ptr[0x20], 0x7D00);
            a.mov(__word_ptr[0x22], 0);
            a.mov(__word_ptr[0x60 * 4], 0x7D10);
            a.mov(__word_ptr[(0x60 * 4) + 2], 0);
            a.mov(al, 0x34);
            a.@out(0x43, al);
            a.mov(ax, 1193);                  // 1 kHz
            a.@out(0x40, al);
            a.mov(al, ah);
            a.@out(0x40, al);
            a.sti();
            a.Label(ref loop);
            a.mov(di, 0x1000);
            a.mov(cx, 97);
            a.mov(ax, si);
            a.rep.stosb();
            a.add(si, __word_ptr[0x1010]);
            a.inc(si);
            a.@int(0x60);
            a.cmp(bx, 30);
            a.jb(loop);
            a.cli();
            a.mov(ax, si);
            a.mov(dx, 0x501);                 // isa-debug-exit
            a.@out(dx, al);
            a.hlt();
        });
        byte[] handlers = GuestPrograms.Assemble16(0x7D00, a =>
        {
            a.inc(bx);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.iret();
        });
        byte[] intHandler = GuestPrograms.Assemble16(0x7D10, a => a.iret());
        byte[] merged = GuestPrograms.WithHandlerAt100h(code, handlers);
        Array.Resize(ref merged, Math.Max(merged.Length, 0x110 + intHandler.Length));
        intHandler.CopyTo(merged, 0x110);
        return merged;
    }

    /// <summary>
    /// Real mode: IVT[0] → 7D00h (stores 1 at 600h, halts), IVT[60h] → 7D40h (stores 3 at 602h, halts); AX = 100,
    /// BL = 0; DIV BL (#DE); then stores 2 at 601h and halts. Also the DIV's linear address.
    /// </summary>
    private static (byte[] Code, uint Div) DivideErrorGuest()
    {
        static void Prefix(Assembler a)
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            a.mov(__word_ptr[0], 0x7D00);
            a.mov(__word_ptr[2], 0);
            a.mov(__word_ptr[0x60 * 4], 0x7D40);
            a.mov(__word_ptr[(0x60 * 4) + 2], 0);
            a.mov(ax, 100);
            a.xor(bx, bx);
        }

        byte[] main = GuestPrograms.Assemble16(Origin, a =>
        {
            Prefix(a);
            a.div(bl);
            a.mov(__byte_ptr[0x601], 2);
            a.cli();
            a.hlt();
        });
        byte[] divideHandler = GuestPrograms.Assemble16(0x7D00, a =>
        {
            a.mov(__byte_ptr[0x600], 1);
            a.cli();
            a.hlt();
        });
        byte[] redirectHandler = GuestPrograms.Assemble16(0x7D40, a =>
        {
            a.mov(__byte_ptr[0x602], 3);
            a.cli();
            a.hlt();
        });
        byte[] image = GuestPrograms.WithHandlerAt100h(main, divideHandler);
        Array.Resize(ref image, 0x140 + redirectHandler.Length);
        redirectHandler.CopyTo(image, 0x140);
        return (image, Origin + (uint)GuestPrograms.Assemble16(Origin, Prefix).Length);
    }

    /// <summary>Real mode: CX = <paramref name="iterations"/> (0: 65536), then INC AX / LOOP; halts. Also the loop's linear address.</summary>
    private static (byte[] Code, uint Loop) CountedLoop(ushort iterations)
    {
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            Label loop = a.CreateLabel();
            a.mov(cx, iterations);
            a.Label(ref loop);
            a.inc(ax);
            a.loop(loop);
            a.cli();
            a.hlt();
        });
        return (code, Origin + 3u);   // mov cx, imm16: 3 bytes
    }

    private static int ReadWord(Machine machine, uint address) =>
        machine.Memory.ReadByte(new PhysicalAddress(address)) | (machine.Memory.ReadByte(new PhysicalAddress(address + 1)) << 8);

    private static Machine Build(byte[] code) => HookTestMachine.Build(code, "run loop hooks");
}
