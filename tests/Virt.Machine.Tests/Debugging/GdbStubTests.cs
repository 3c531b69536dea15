using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using Iced.Intel;
using Virt.Cpu;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Debugging;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Debugging;

/// <summary><see cref="GdbStub"/> spoken to over a real loopback socket by a tiny RSP client.</summary>
public sealed class GdbStubTests
{
    private const uint CodeAddress = 0x10_0000;
    private const uint CountAddress = CodeAddress + 0x100;
    private const uint ValueAddress = CodeAddress + 0x104;

    // Layout of the guest (see BuildGuest): offsets of the loop's instructions.
    private const uint LoopAddress = CodeAddress + 6;
    private const uint AfterStoreAddress = LoopAddress + 7;

    [Fact]
    public void ReportsStopAndTargetDescriptionAndRegisters()
    {
        using var session = Session.Start(iterations: 10);
        GdbTestClient gdb = session.Client;
        Assert.Contains("qXfer:features:read+", gdb.Request("qSupported:multiprocess+;swbreak+"), StringComparison.Ordinal);
        Assert.StartsWith("T05", gdb.Request("?"), StringComparison.Ordinal);
        string xml = gdb.Request("qXfer:features:read:target.xml:0,ffff");
        Assert.StartsWith("l<?xml", xml, StringComparison.Ordinal);
        Assert.Contains("<architecture>i386</architecture>", xml, StringComparison.Ordinal);
        Assert.Equal("1", gdb.Request("qAttached"));
        Assert.Equal("m1", gdb.Request("qfThreadInfo"));
        Assert.Equal("l", gdb.Request("qsThreadInfo"));

        string registers = gdb.Request("g");
        Assert.Equal(CodeAddress, Eip(registers));
        Assert.Equal(LittleEndian(CodeAddress), gdb.Request("p8"));
        Assert.Equal("OK", gdb.Request($"P0={LittleEndian(0x1234_5678)}"));
        Assert.Equal(LittleEndian(0x1234_5678), gdb.Request("p0"));
        Assert.Equal(string.Empty, gdb.Request("qNoSuchThing"));
        Assert.Equal(string.Empty, gdb.Request("Z9,100000,4")); // an unknown breakpoint type: unsupported, said with an empty reply
        gdb.Send("k");
        Assert.Equal(MachineStopKind.Cancelled, session.Finish().Kind);
    }

    [Fact]
    public void ReadsAndWritesMemoryThroughLinearAddresses()
    {
        using var session = Session.Start(iterations: 10);
        GdbTestClient gdb = session.Client;
        byte[] code = ReadBytes(session.Machine, CodeAddress, 4);
        Assert.Equal(Convert.ToHexString(code).ToLowerInvariant(), gdb.Request($"m{CodeAddress:x},4"));
        Assert.Equal("OK", gdb.Request($"M{ValueAddress:x},4:2a000000"));
        Assert.Equal("2a000000", gdb.Request($"m{ValueAddress:x},4"));
        Assert.Equal("E14", gdb.Request("mffffff000,4")); // above 4 GiB: nothing there
        Assert.Equal("E01", gdb.Request("mzz,4"));
        Assert.Equal("E01", gdb.Request($"M{ValueAddress:x},4:2a"));
        gdb.Send("k");
        session.Finish();
        Assert.Equal(42u, BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(session.Machine, ValueAddress, 4)));
    }

    [Fact]
    public void MemoryGoesThroughTheGuestsPageTablesWithoutTouchingThem()
    {
        const uint pageDirectory = 0x20_0000;
        const uint pageTable = 0x20_1000;
        const uint mappedLinear = 0x4000_0000; // PDE 256, PTE 0 -> the code page at CodeAddress
        using var session = Session.Start(iterations: 10);
        PhysicalMemoryMap memory = session.Machine.Memory;
        uint pde = pageTable | 3;       // present, writable, accessed clear
        uint pte = CodeAddress | 3;
        memory.WriteDoubleWord(new PhysicalAddress(pageDirectory + ((mappedLinear >> 22) * 4)), pde);
        memory.WriteDoubleWord(new PhysicalAddress(pageTable), pte);

        // The guest is stopped: the stub's thread only waits for packets, so the test may set up paging directly.
        session.Machine.Cpu.Cr3 = pageDirectory;
        session.Machine.Cpu.Cr0 |= 0x8000_0000;
        GdbTestClient gdb = session.Client;
        uint offset = ValueAddress - CodeAddress;
        Assert.Equal("OK", gdb.Request($"M{mappedLinear + offset:x},4:78563412"));
        Assert.Equal("78563412", gdb.Request($"m{mappedLinear + offset:x},4"));
        Assert.Equal("E14", gdb.Request($"m{mappedLinear + 0x1000:x},4")); // PTE 1 is not present
        Assert.Equal("E14", gdb.Request($"m{CodeAddress:x},4"));           // nothing identity-mapped any more

        // A read that runs into a missing page returns what came before it.
        Assert.Equal(8, gdb.Request($"m{mappedLinear + 0xFFC:x},8").Length);
        Assert.Equal(pde, memory.ReadDoubleWord(new PhysicalAddress(pageDirectory + ((mappedLinear >> 22) * 4))));
        Assert.Equal(pte, memory.ReadDoubleWord(new PhysicalAddress(pageTable)));
        gdb.Send("k");
        session.Finish();
        Assert.Equal(0x1234_5678u, BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(session.Machine, ValueAddress, 4)));
    }

    [Fact]
    public void BreakpointStopsBeforeTheInstructionEachTimeAndStepAdvances()
    {
        using var session = Session.Start(iterations: 100);
        GdbTestClient gdb = session.Client;
        Assert.Equal("OK", gdb.Request($"Z0,{LoopAddress:x},1"));
        gdb.Send("c");
        Assert.Equal("T05thread:1;swbreak:;", gdb.ReadPacket());
        Assert.Equal(LoopAddress, Eip(gdb.Request("g")));
        uint ebx = Register(gdb.Request("g"), 3);

        // Continuing from the breakpoint runs one loop iteration and stops at it again.
        gdb.Send("vCont;c");
        Assert.StartsWith("T05", gdb.ReadPacket(), StringComparison.Ordinal);
        Assert.Equal(ebx + 1, Register(gdb.Request("g"), 3));

        gdb.Send("s");
        Assert.StartsWith("T05", gdb.ReadPacket(), StringComparison.Ordinal);
        Assert.Equal(ebx + 2, Register(gdb.Request("g"), 3));
        Assert.Equal(LoopAddress + 1, Eip(gdb.Request("g"))); // one step over INC EBX (one byte)

        Assert.Equal("OK", gdb.Request($"z0,{LoopAddress:x},1"));
        Assert.Equal("OK", gdb.Request($"Z1,{LoopAddress:x},1"));
        gdb.Send("c");
        Assert.Equal("T05thread:1;hwbreak:;", gdb.ReadPacket());
        gdb.Send("k");
        session.Finish();
    }

    [Fact]
    public void WriteWatchpointStopsAfterEachStoreAndReportsItsAddress()
    {
        using var session = Session.Start(iterations: 100);
        GdbTestClient gdb = session.Client;
        Assert.Equal("OK", gdb.Request($"Z2,{ValueAddress:x},4"));
        for (uint n = 1; n <= 2; n++)
        {
            gdb.Send("c");
            Assert.Equal($"T05thread:1;watch:{ValueAddress:x};", gdb.ReadPacket());
            string registers = gdb.Request("g");
            Assert.Equal(AfterStoreAddress, Eip(registers)); // reported after the store, as an x86 data breakpoint trap
            Assert.Equal(n, Register(registers, 3));
            Assert.Equal(LittleEndian(n), gdb.Request($"m{ValueAddress:x},4"));
        }

        // Stepping: the INC is a plain step, the store a watchpoint hit.
        gdb.Send("s");
        Assert.Equal("T05thread:1;", gdb.ReadPacket()); // DEC
        gdb.Send("s");
        Assert.Equal("T05thread:1;", gdb.ReadPacket()); // JNZ
        gdb.Send("s");
        Assert.Equal("T05thread:1;", gdb.ReadPacket()); // INC
        gdb.Send("s");
        Assert.Equal($"T05thread:1;watch:{ValueAddress:x};", gdb.ReadPacket());

        // Removed, the watch no longer stops the guest; a breakpoint still does.
        Assert.Equal("OK", gdb.Request($"z2,{ValueAddress:x},4"));
        Assert.Equal("OK", gdb.Request($"Z0,{LoopAddress:x},1"));
        gdb.Send("c");
        Assert.Equal("T05thread:1;swbreak:;", gdb.ReadPacket());
        Assert.Equal(3u, Register(gdb.Request("g"), 3)); // three iterations completed, the fourth INC not yet run
        gdb.Send("k");
        session.Finish();
    }

    [Fact]
    public void ReadAndAccessWatchpointsReportTheirKindAndAnAddressInsideTheRange()
    {
        using var session = Session.Start(iterations: 100);
        GdbTestClient gdb = session.Client;
        Assert.Equal("OK", gdb.Request($"Z3,{CountAddress:x},4"));
        Assert.Equal("OK", gdb.Request($"Z4,{ValueAddress + 2:x},2")); // only the high half of the dword store
        gdb.Send("c");
        Assert.Equal($"T05thread:1;rwatch:{CountAddress:x};", gdb.ReadPacket()); // MOV ECX, [count]
        gdb.Send("c");
        Assert.Equal($"T05thread:1;awatch:{ValueAddress + 2:x};", gdb.ReadPacket());
        Assert.Equal(AfterStoreAddress, Eip(gdb.Request("g")));
        Assert.Equal("E01", gdb.Request($"Z2,{ValueAddress:x},0"));
        Assert.Equal("E01", gdb.Request($"Z2,{ValueAddress:x},zz"));
        Assert.Equal("E01", gdb.Request("Z2,ffffffff,2"));
        gdb.Send("k");
        session.Finish();
    }

    [Fact]
    public void DetachRemovesWatchpoints()
    {
        using var session = Session.Start(iterations: 1000);
        GdbTestClient gdb = session.Client;
        Assert.Equal("OK", gdb.Request($"Z4,{ValueAddress:x},4"));
        Assert.Equal("OK", gdb.Request("D"));
        Assert.Equal(MachineStopKind.HaltedForGood, session.Finish().Kind);
        Assert.Equal(1000u, BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(session.Machine, ValueAddress, 4)));
    }

    [Fact]
    public void CtrlCInterruptsARunningGuest()
    {
        using var session = Session.Start(iterations: int.MaxValue);
        GdbTestClient gdb = session.Client;
        gdb.Send("c");
        gdb.SendRaw([0x03]);
        Assert.StartsWith("T02", gdb.ReadPacket(), StringComparison.Ordinal);
        Assert.True(session.Machine.Cpu.RetiredInstructions > 0);
        gdb.Send("k");
        session.Finish();
    }

    [Fact]
    public void DetachLetsTheGuestRunToItsEndWithoutBreakpoints()
    {
        using var session = Session.Start(iterations: 1000);
        GdbTestClient gdb = session.Client;
        Assert.Equal("OK", gdb.Request($"Z0,{LoopAddress:x},1"));
        Assert.Equal("OK", gdb.Request("D"));
        MachineStopReason stop = session.Finish();
        Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);
        Assert.Empty(session.Machine.Cpu.HostBreakpoints);
        Assert.Equal(1000u, (uint)session.Machine.Cpu.GetRegister(GeneralRegister.Rbx));
    }

    [Fact]
    public void ClosingTheSocketDetaches()
    {
        using var session = Session.Start(iterations: 1000);
        Assert.Equal("OK", session.Client.Request($"Z1,{LoopAddress:x},1"));
        session.Client.Dispose();
        Assert.Equal(MachineStopKind.HaltedForGood, session.Finish().Kind);
    }

    [Fact]
    public void MalformedInputIsNackedOrAnsweredWithAnError()
    {
        using var session = Session.Start(iterations: 10);
        GdbTestClient gdb = session.Client;
        gdb.SendRaw("$g#00");
        Assert.Equal('-', gdb.ReadByte());
        gdb.SendRaw("$" + new string('m', 70_000) + "#00");
        Assert.Equal('-', gdb.ReadByte());
        gdb.SendRaw("garbage+++");
        Assert.Equal("E01", gdb.Request("m100000"));
        Assert.Equal("E01", gdb.Request("P99=00000000"));
        Assert.Equal("E01", gdb.Request("Z0,123456789abcdef01,1"));
        Assert.Equal("E01", gdb.Request("G1234"));
        Assert.Equal("E01", gdb.Request("vCont;x"));
        Assert.Equal(LittleEndian(CodeAddress), gdb.Request("p8")); // still answering
        gdb.Send("k");
        session.Finish();
    }

    [Fact]
    public void RandomPacketsAreAnsweredAndNeverCrashTheHost()
    {
        // Packets that resume, end or reconfigure the session (c, s, k, D, v..., Q..., qRcmd) are left out: each of the
        // others must get exactly one reply, whatever follows its command letter.
        const string letters = "?gGpPmMXzZHTqbBiIRtAF!";
        const string tails = "0123456789abcdefABCDEF,:;=xX-+ \u007f";
        var random = new Random(1234);
        using var session = Session.Start(iterations: 10);
        GdbTestClient gdb = session.Client;
        for (int n = 0; n < 500; n++)
        {
            var packet = new StringBuilder().Append(letters[random.Next(letters.Length)]);
            int length = random.Next(0, random.Next(2) == 0 ? 8 : 80);
            for (int i = 0; i < length; i++)
            {
                packet.Append(tails[random.Next(tails.Length)]);
            }

            string text = packet.ToString();
            if (text.StartsWith("qRcmd", StringComparison.Ordinal))
            {
                continue;
            }

            gdb.Request(text);
        }

        Assert.StartsWith("T05", gdb.Request("?"), StringComparison.Ordinal);
        gdb.Send("k");
        Assert.Equal(MachineStopKind.Cancelled, session.Finish().Kind);
    }

    [Fact]
    public void NoAckModeAndMonitorCommands()
    {
        using var session = Session.Start(iterations: 10);
        GdbTestClient gdb = session.Client;
        Assert.Equal("OK", gdb.Request("QStartNoAckMode"));
        gdb.SendRaw(GdbTestClient.Frame("qRcmd," + Convert.ToHexString("info registers"u8).ToLowerInvariant()));
        string output = Encoding.ASCII.GetString(Convert.FromHexString(gdb.ReadPacket()));
        Assert.Contains($"EIP={CodeAddress:x8}", output, StringComparison.Ordinal);
        gdb.SendRaw(GdbTestClient.Frame("qC"));
        Assert.Equal("QC1", gdb.ReadPacket());
        gdb.SendRaw(GdbTestClient.Frame("k"));
        session.Finish();
    }

    [Fact]
    public void WithoutADebuggerTheGuestRunsToItsEndOrItsBudget()
    {
        using Machine machine = BuildMachine(iterations: 1000);
        using var stub = GdbStub.Listen(machine, new IPEndPoint(IPAddress.Loopback, 0));
        Assert.NotEqual(0, stub.LocalEndPoint.Port);
        Assert.False(stub.IsAttached);
        Assert.Equal(MachineStopKind.HaltedForGood, stub.Run().Kind);
        Assert.Equal(1000u, (uint)machine.Cpu.GetRegister(GeneralRegister.Rbx));

        using Machine endless = BuildMachine(iterations: int.MaxValue);
        using var endlessStub = GdbStub.Listen(endless, new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Equal(MachineStopKind.BudgetExhausted, endlessStub.Run(maxInstructions: 200_000).Kind);
        Assert.InRange(endless.Cpu.RetiredInstructions, 1, 200_000);
    }

    [Fact]
    public void ListeningOnAPortInUseThrowsNamingTheEndpoint()
    {
        using Machine machine = BuildMachine(iterations: 1);
        using var first = GdbStub.Listen(machine, new IPEndPoint(IPAddress.Loopback, 0));
        var e = Assert.Throws<InvalidOperationException>(() => GdbStub.Listen(machine, first.LocalEndPoint));
        Assert.Contains(first.LocalEndPoint.ToString(), e.Message, StringComparison.Ordinal);
    }

    private static Machine BuildMachine(int iterations)
    {
        byte[] image = BuildGuest();
        BinaryPrimitives.WriteInt32LittleEndian(image.AsSpan((int)(CountAddress - CodeAddress)), iterations);
        return new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
            .WithFlatBinary(image, new PhysicalAddress(CodeAddress), BootEntryState.FlatProtectedMode(CodeAddress, "gdb test"))
            .Build();
    }

    private static byte[] ReadBytes(Machine machine, uint address, int count)
    {
        byte[] bytes = new byte[count];
        machine.Memory.Read(new PhysicalAddress(address), bytes);
        return bytes;
    }

    private static string LittleEndian(uint value) => Convert.ToHexString(BitConverter.GetBytes(value)).ToLowerInvariant();

    private static uint Register(string registers, int number) =>
        BinaryPrimitives.ReadUInt32LittleEndian(Convert.FromHexString(registers.AsSpan(number * 8, 8)));

    private static uint Eip(string registers) => Register(registers, 8);

    /// <summary>A flat protected-mode guest: ECX = [count]; loop: INC EBX; [value] = EBX; DEC ECX; JNZ loop; CLI; HLT.</summary>
    private static byte[] BuildGuest()
    {
        var asm = new Assembler(32);
        Label loop = asm.CreateLabel();
        asm.mov(ecx, __dword_ptr[CountAddress]);           // 6 bytes: the loop starts at CodeAddress + 6
        asm.Label(ref loop);
        asm.inc(ebx);
        asm.mov(__dword_ptr[ValueAddress], ebx);           // 6 bytes: the store ends at LoopAddress + 7
        asm.dec(ecx);
        asm.jnz(loop);
        asm.cli();
        asm.hlt();
        var code = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(code), CodeAddress);
        byte[] image = new byte[0x200];
        code.ToArray().CopyTo(image, 0);
        return image;
    }

    private sealed class Session : IDisposable
    {
        private readonly Task<MachineStopReason> _run;

        private Session(Machine machine, GdbStub stub, GdbTestClient client, Task<MachineStopReason> run)
        {
            Machine = machine;
            Stub = stub;
            Client = client;
            _run = run;
        }

        public Machine Machine { get; }

        public GdbStub Stub { get; }

        public GdbTestClient Client { get; }

        public static Session Start(int iterations)
        {
            Machine machine = BuildMachine(iterations);
            var stub = GdbStub.Listen(machine, new IPEndPoint(IPAddress.Loopback, 0));
            Task<MachineStopReason> run = Task.Factory.StartNew(
                () => stub.Run(maxInstructions: 50_000_000_000, waitForAttach: true),
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            var client = new GdbTestClient(stub.LocalEndPoint);
            return new Session(machine, stub, client, run);
        }

        public MachineStopReason Finish()
        {
            Assert.True(_run.Wait(TimeSpan.FromSeconds(60)), "the stub's Run did not return");
            return _run.Result;
        }

        public void Dispose()
        {
            Client.Dispose();
            Stub.Dispose();
            Machine.Dispose();
        }
    }
}
