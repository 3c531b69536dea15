using System.Text;
using Iced.Intel;
using Virt.Cpu;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Virt.Machine.Tests.Snapshots;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Hooks;

public sealed class MachineHooksTests
{
    private const ushort Origin = HookTestMachine.Origin;
    private const uint Result = 0x500;

    // No device answers port 300h: the read floats to all ones (the machine's port space is not strict).
    private const ushort FreePort = 0x300;

    [Fact]
    public void PortReadHookReplacesTheValueTheGuestSees()
    {
        using Machine machine = Build(ReadPortAndStore(FreePort));
        uint seen = 0;
        using IDisposable hook = machine.Hooks.AddPortReadHook(FreePort, FreePort, (port, width, value) =>
        {
            seen = value;
            return 0x42;
        });

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);
        Assert.Equal(0xFFu, seen); // what the port space returned
        Assert.Equal(0x42, machine.Memory.ReadByte(new PhysicalAddress(Result)));
    }

    [Fact]
    public void PortReadHookOutsideItsRangeIsNotCalled()
    {
        using Machine machine = Build(ReadPortAndStore(FreePort));
        int calls = 0;
        using IDisposable hook = machine.Hooks.AddPortReadHook(FreePort + 1, FreePort + 8, (_, _, value) =>
        {
            calls++;
            return 0x42;
        });

        machine.Run(maxInstructions: 1000);
        Assert.Equal(0, calls);
        Assert.Equal(0xFF, machine.Memory.ReadByte(new PhysicalAddress(Result)));
    }

    [Fact]
    public void RemovedPortHookNoLongerApplies()
    {
        using Machine machine = Build(ReadPortAndStore(FreePort));
        IoPortSpace original = machine.Cpu.PortSpace;
        IDisposable hook = machine.Hooks.AddPortReadHook(FreePort, FreePort, (_, _, _) => 0x42);
        Assert.NotSame(original, machine.Cpu.PortSpace);
        hook.Dispose();

        machine.Run(maxInstructions: 1000);
        Assert.Equal(0xFF, machine.Memory.ReadByte(new PhysicalAddress(Result)));
        Assert.Same(original, machine.Cpu.PortSpace); // no dispatcher left in the path
    }

    [Fact]
    public void PortReadHooksComposeInTheOrderAdded()
    {
        using Machine machine = Build(ReadPortAndStore(FreePort));
        using IDisposable first = machine.Hooks.AddPortReadHook(FreePort, FreePort, (_, _, _) => 0x10);
        using IDisposable second = machine.Hooks.AddPortReadHook(FreePort, FreePort, (_, _, value) => value * 3);

        machine.Run(maxInstructions: 1000);

        // 0x10 then ×3; the other order would give 0x10.
        Assert.Equal(0x30, machine.Memory.ReadByte(new PhysicalAddress(Result)));
    }

    [Fact]
    public void PortWriteHookCanSuppressTheDebugExitWrite()
    {
        byte[] code = GuestPrograms.PrintAndExit(string.Empty, 3);
        using Machine unhooked = Build(code);
        Assert.Equal(MachineStopKind.DebugExit, unhooked.Run(maxInstructions: 1000).Kind);

        using Machine machine = Build(code);
        var writes = new List<(ushort Port, uint Value)>();
        using IDisposable hook = machine.Hooks.AddPortWriteHook(0x501, 0x502, (ushort port, int width, ref uint value) =>
        {
            writes.Add((port, value));
            return false;
        });

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);
        Assert.Equal([((ushort)0x501, 3u)], writes);
    }

    [Fact]
    public void PortWriteHookCanReplaceTheValue()
    {
        using Machine machine = Build(GuestPrograms.PrintAndExit(string.Empty, 3));
        using IDisposable hook = machine.Hooks.AddPortWriteHook(0x501, 0x501, (ushort port, int width, ref uint value) =>
        {
            value = 7;
            return true;
        });

        MachineStopReason stop = machine.Run(maxInstructions: 1000);
        Assert.Equal(MachineStopKind.DebugExit, stop.Kind);
        Assert.Equal((7 << 1) | 1, stop.ExitCode); // isa-debug-exit reports (v << 1) | 1
    }

    [Fact]
    public void CpuidHookChangesTheVendorString()
    {
        using Machine machine = Build(GuestPrograms.Assemble16(Origin, a =>
        {
            a.xor(eax, eax);
            a.cpuid();
            a.mov(__dword_ptr[Result], ebx);
            a.mov(__dword_ptr[Result + 4], edx);
            a.mov(__dword_ptr[Result + 8], ecx);
            Halt(a);
        }));
        byte[] vendor = Encoding.ASCII.GetBytes("VirtHookTest");
        var leaves = new List<uint>();
        using IDisposable hook = machine.Hooks.AddCpuidHook((uint leaf, uint subleaf, ref uint a, ref uint b, ref uint c, ref uint d) =>
        {
            leaves.Add(leaf);
            if (leaf == 0)
            {
                b = BitConverter.ToUInt32(vendor, 0);
                d = BitConverter.ToUInt32(vendor, 4);
                c = BitConverter.ToUInt32(vendor, 8);
            }
        });

        machine.Run(maxInstructions: 1000);
        byte[] stored = new byte[12];
        machine.Memory.Read(new PhysicalAddress(Result), stored);
        Assert.Equal("VirtHookTest", Encoding.ASCII.GetString(stored));
        Assert.Equal([0u], leaves);
    }

    [Fact]
    public void TscReadHookReplacesTheCounter()
    {
        using Machine machine = Build(GuestPrograms.Assemble16(Origin, a =>
        {
            a.rdtsc();
            a.mov(__dword_ptr[Result], eax);
            a.mov(__dword_ptr[Result + 4], edx);
            Halt(a);
        }));
        ulong original = 0;
        using IDisposable hook = machine.Hooks.AddTscReadHook(value =>
        {
            original = value;
            return 0x1122_3344_5566_7788;
        });

        machine.Run(maxInstructions: 1000);
        Assert.Equal(0x5566_7788u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Result)));
        Assert.Equal(0x1122_3344u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Result + 4)));
        Assert.NotEqual(0x1122_3344_5566_7788UL, original);
    }

    [Fact]
    public void MsrReadHookCanImplementAnMsr()
    {
        const uint Index = 0x4000_1234; // not implemented by the CPU: #GP without the hook
        using Machine machine = Build(GuestPrograms.Assemble16(Origin, a =>
        {
            a.mov(ecx, Index);
            a.rdmsr();
            a.mov(__dword_ptr[Result], eax);
            a.mov(__dword_ptr[Result + 4], edx);
            Halt(a);
        }));
        bool? implemented = null;
        using IDisposable hook = machine.Hooks.AddMsrReadHook((uint index, bool isImplemented, ref ulong value) =>
        {
            implemented = isImplemented;
            value = 0xAABB_CCDD_0011_2233;
            return true;
        });

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);
        Assert.False(implemented);
        Assert.Equal(0x0011_2233u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Result)));
        Assert.Equal(0xAABB_CCDDu, machine.Memory.ReadDoubleWord(new PhysicalAddress(Result + 4)));
    }

    [Fact]
    public void MsrWriteHookCanSuppressTheWrite()
    {
        const uint SysenterCs = 0x174;
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            a.mov(ecx, SysenterCs);
            a.mov(eax, 0x0008);
            a.xor(edx, edx);
            a.wrmsr();
            a.rdmsr();
            a.mov(__dword_ptr[Result], eax);
            Halt(a);
        });
        using Machine unhooked = Build(code);
        unhooked.Run(maxInstructions: 1000);
        Assert.Equal(8u, unhooked.Memory.ReadDoubleWord(new PhysicalAddress(Result)));

        using Machine machine = Build(code);
        using IDisposable hook = machine.Hooks.AddMsrWriteHook((uint index, ref ulong value) => index != SysenterCs);
        machine.Run(maxInstructions: 1000);
        Assert.Equal(0u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Result)));
    }

    [Fact]
    public void CodeHookChangesEaxBeforeTheInstructionRuns()
    {
        (byte[] code, uint store) = StoreEaxGuest();
        using Machine machine = Build(code);
        int calls = 0;
        using IDisposable hook = machine.Hooks.AddCodeHook(store, context =>
        {
            calls++;
            Assert.Equal(store, context.LinearAddress);
            Assert.Equal(1UL, context.Cpu.GetRegister(GeneralRegister.Rax));
            context.Cpu.SetRegister(GeneralRegister.Rax, 0x1234);
        });

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);
        Assert.Equal(0x1234u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Result)));
        Assert.Equal(1, calls); // stepped over once, not re-triggered
    }

    [Fact]
    public void CodeHooksComposeInOrderAndCanBeRemoved()
    {
        (byte[] code, uint store) = StoreEaxGuest();
        using Machine machine = Build(code);
        using IDisposable first = machine.Hooks.AddCodeHook(store, c => c.Cpu.SetRegister(GeneralRegister.Rax, 5));
        IDisposable second = machine.Hooks.AddCodeHook(store, c => c.Cpu.SetRegister(GeneralRegister.Rax, c.Cpu.GetRegister(GeneralRegister.Rax) * 7));
        second.Dispose();
        using IDisposable third = machine.Hooks.AddCodeHook(store, c => c.Cpu.SetRegister(GeneralRegister.Rax, c.Cpu.GetRegister(GeneralRegister.Rax) + 2));

        machine.Run(maxInstructions: 1000);
        Assert.Equal(7u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Result))); // 5 then +2; ×7 was removed
    }

    [Fact]
    public void RemovingTheLastCodeHookRemovesItsBreakpoint()
    {
        (byte[] code, uint store) = StoreEaxGuest();
        using Machine machine = Build(code);
        machine.Hooks.AddCodeHook(store, c => c.Cpu.SetRegister(GeneralRegister.Rax, 9)).Dispose();

        Assert.Empty(machine.Cpu.HostBreakpoints);
        machine.Run(maxInstructions: 1000);
        Assert.Equal(1u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Result)));
    }

    [Fact]
    public void CodeHookCanStopTheRunBeforeTheInstruction()
    {
        (byte[] code, uint store) = StoreEaxGuest();
        using Machine machine = Build(code);
        int calls = 0;
        using IDisposable hook = machine.Hooks.AddCodeHook(store, context =>
        {
            calls++;
            context.Stop();
        });

        Assert.Equal(MachineStopKind.Paused, machine.Run(maxInstructions: 1000).Kind);
        Assert.Equal(store, machine.Cpu.Eip + (uint)machine.Cpu.GetSegment(SegmentRegister.Cs).Base);
        Assert.Equal(0u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Result)));

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);
        Assert.Equal(1u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Result)));
        Assert.Equal(1, calls);
    }

    [Fact]
    public void CodeHookAtADebuggerBreakpointRunsAndTheDebuggerStillStops()
    {
        (byte[] code, uint store) = StoreEaxGuest();
        using Machine machine = Build(code);
        machine.Cpu.AddHostBreakpoint(store); // as the gdb stub sets one
        int calls = 0;
        IDisposable hook = machine.Hooks.AddCodeHook(store, _ => calls++);

        Assert.Equal(MachineStopKind.Breakpoint, machine.Run(maxInstructions: 1000).Kind);
        Assert.Equal(1, calls);
        hook.Dispose();
        Assert.Contains(store, machine.Cpu.HostBreakpoints); // the debugger's breakpoint stays

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void ObserveOnlyHooksLeaveTheRunIdentical()
    {
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            Label loop = a.CreateLabel();
            a.mov(ecx, 200);
            a.Label(ref loop);
            a.@in(al, 0x40);                  // PIT counter 0: depends on guest time
            a.add(__byte_ptr[Result], al);
            a.rdtsc();
            a.add(__dword_ptr[Result + 4], eax);
            a.push(ecx);
            a.xor(eax, eax);
            a.cpuid();
            a.pop(ecx);
            a.add(__dword_ptr[Result + 8], ebx);
            a.@out(0x80, al);
            a.loop(loop);
            Halt(a);
        });
        uint loopStart = Origin + (uint)GuestPrograms.Assemble16(Origin, a => a.mov(ecx, 200)).Length;

        using Machine plain = Build(code);
        MachineStopReason plainStop = plain.Run(maxInstructions: 100_000);

        using Machine hooked = Build(code);
        int calls = 0;
        using IDisposable read = hooked.Hooks.AddPortReadHook(0, 0xFFFF, (_, _, value) => { calls++; return value; });
        using IDisposable write = hooked.Hooks.AddPortWriteHook(0, 0xFFFF, (ushort _, int _, ref uint _) => { calls++; return true; });
        using IDisposable cpuid = hooked.Hooks.AddCpuidHook((uint _, uint _, ref uint _, ref uint _, ref uint _, ref uint _) => calls++);
        using IDisposable tsc = hooked.Hooks.AddTscReadHook(value => { calls++; return value; });
        using IDisposable code1 = hooked.Hooks.AddCodeHook(loopStart, _ => calls++);
        MachineStopReason hookedStop = hooked.Run(maxInstructions: 100_000);

        Assert.Equal(MachineStopKind.HaltedForGood, plainStop.Kind);
        Assert.Equal(plainStop.Kind, hookedStop.Kind);
        Assert.Equal(5 * 200, calls);
        Assert.Equal(plain.Cpu.RetiredInstructions, hooked.Cpu.RetiredInstructions);
        Assert.Equal(SnapshotGuest.RamHash(plain), SnapshotGuest.RamHash(hooked));
    }

    [Fact]
    public void HardwareInterruptHookCanDropInterruptsAndLaterOnesStillArrive()
    {
        // IRQ0 at 100 Hz; the handler counts in BX and sends EOI; the guest exits once BX reaches 10.
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            a.xor(bx, bx);
            GuestPrograms.InitializePics(a, masterMask: 0xFE, slaveMask: 0xFF);
            a.mov(__word_ptr[0x20], 0x7D00);
            a.mov(__word_ptr[0x22], 0);
            a.mov(al, 0x34);                  // PIT counter 0, mode 2
            a.@out(0x43, al);
            a.mov(ax, 11932);                 // 100 Hz
            a.@out(0x40, al);
            a.mov(al, ah);
            a.@out(0x40, al);
            a.sti();
            GuestPrograms.HaltUntilBxReachesThenExit(a, 10);
        });
        byte[] handler = GuestPrograms.Assemble16(0x7D00, a =>
        {
            a.inc(bx);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.iret();
        });
        using Machine machine = Build(GuestPrograms.WithHandlerAt100h(code, handler));
        var vectors = new List<byte>();
        using IDisposable hook = machine.Hooks.AddHardwareInterruptHook(vector =>
        {
            vectors.Add(vector);
            return vectors.Count % 2 == 1; // drop every second one
        });

        MachineStopReason stop = machine.Run(maxInstructions: 50_000_000);

        // Ten delivered, nine dropped between them: a dropped IRQ0 left nothing in service that would block the next.
        Assert.Equal(MachineStopKind.DebugExit, stop.Kind);
        Assert.Equal((10 << 1) | 1, stop.ExitCode);
        Assert.Equal(19, vectors.Count);
        Assert.All(vectors, v => Assert.Equal(8, v));
        Assert.Equal(0, machine.Pic.SaveState().Master.Isr);
    }

    /// <summary>Real-mode code: EAX = 1, store EAX at 500h, halt; and the linear address of the store.</summary>
    private static (byte[] Code, uint Store) StoreEaxGuest()
    {
        static void Prefix(Assembler a) => a.mov(eax, 1);
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            Prefix(a);
            a.mov(__dword_ptr[Result], eax);
            Halt(a);
        });
        return (code, Origin + (uint)GuestPrograms.Assemble16(Origin, Prefix).Length);
    }

    private static byte[] ReadPortAndStore(ushort port) => GuestPrograms.Assemble16(Origin, a =>
    {
        a.mov(dx, port);
        a.@in(al, dx);
        a.mov(__byte_ptr[Result], al);
        Halt(a);
    });

    private static void Halt(Assembler a)
    {
        a.cli();
        a.hlt();
    }

    private static Machine Build(byte[] code) => HookTestMachine.Build(code, "hook test");
}
