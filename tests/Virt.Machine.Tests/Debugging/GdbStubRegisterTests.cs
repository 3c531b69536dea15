using System.Buffers.Binary;
using System.Net;
using Iced.Intel;
using Virt.Cpu;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Debugging;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Debugging;

/// <summary>The register packets of <see cref="GdbStub"/> in both target descriptions: layout, x87, SSE and 64-bit registers.</summary>
public sealed class GdbStubRegisterTests
{
    private const uint CodeAddress = 0x10_0000;
    private const uint PageTables = 0x8_0000;
    private const uint EferMsr = 0xC000_0080;
    private const ulong EferLme = 1UL << 8;
    private const ulong EferLma = 1UL << 10;

    // i386 numbering: eax-edi 0-7, eip 8, eflags 9, cs-gs 10-15, st0-st7 16-23, fctrl-fop 24-31, xmm0-7 32-39, mxcsr 40.
    private const int I386St0 = 16;
    private const int I386Fctrl = 24;
    private const int I386Xmm0 = 32;
    private const int I386Mxcsr = 40;
    private const int I386RegisterBytes = (16 * 4) + (8 * 10) + (8 * 4) + (8 * 16) + 4;

    // x86-64 numbering: rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8-r15 0-15, rip 16, eflags 17, cs-gs 18-23, st0-7 24-31,
    // fctrl-fop 32-39, xmm0-15 40-55, mxcsr 56, fs_base 57, gs_base 58, k_gs_base 59, cr0 60, cr2 61, cr3 62, cr4 63, cr8 64, efer 65.
    private const int X64Rip = 16;
    private const int X64Xmm0 = 40;
    private const int X64FsBase = 57;
    private const int X64Cr3 = 62;
    private const int X64Efer = 65;
    private const int X64RegisterBytes = (17 * 8) + (7 * 4) + (8 * 10) + (8 * 4) + (16 * 16) + 4 + (9 * 8);

    // Intel SDM Vol. 1, 4.2.2: 1.0 is exponent 3FFFh with only the integer bit set; pi is 4000h C90FDAA22168C235h.
    private const string OneExtended = "0000000000000080ff3f";
    private const string PiExtended = "35c26821a2da0fc90040";

    [Fact]
    public void I386LayoutCarriesX87AndSseRegistersReadableAndWritable()
    {
        using Machine machine = BuildMachine();
        using var stub = GdbStub.Listen(machine, new IPEndPoint(IPAddress.Loopback, 0));
        Task<MachineStopReason> run = Start(stub);
        using var gdb = new GdbTestClient(stub.LocalEndPoint);
        string xml = gdb.Request("qXfer:features:read:target.xml:0,ffff");
        Assert.Contains("<architecture>i386</architecture>", xml, StringComparison.Ordinal);
        Assert.Contains("org.gnu.gdb.i386.sse", xml, StringComparison.Ordinal);
        Assert.Contains("name=\"xmm7\"", xml, StringComparison.Ordinal);
        Assert.DoesNotContain("name=\"xmm8\"", xml, StringComparison.Ordinal);

        // Two steps: FLD1 then FLDPI, so ST0 = pi, ST1 = 1, TOP = 6, physical R6 and R7 valid and the rest empty.
        gdb.Request("vCont;s:1");
        gdb.Request("vCont;s:1");
        string registers = gdb.Request("g");
        Assert.Equal(I386RegisterBytes * 2, registers.Length);
        Assert.Equal(PiExtended, gdb.Request($"p{I386St0:x}"));
        Assert.Equal(OneExtended, gdb.Request($"p{I386St0 + 1:x}"));
        Assert.Equal(PiExtended, registers.Substring(64 * 2, 20));
        Assert.Equal(LittleEndian32(0x037F), gdb.Request($"p{I386Fctrl:x}"));
        Assert.Equal(LittleEndian32(6 << 11), gdb.Request($"p{I386Fctrl + 1:x}"));
        Assert.Equal(LittleEndian32(0x0FFF), gdb.Request($"p{I386Fctrl + 2:x}"));

        // Writes: st2 (physical R0 with TOP = 6, empty so far), ftag (marks R0 valid as well), xmm1, mxcsr.
        Assert.Equal("OK", gdb.Request($"P{I386St0 + 2:x}={OneExtended}"));
        Assert.Equal("OK", gdb.Request($"P{I386Fctrl + 2:x}={LittleEndian32(0x0FFC)}"));
        Assert.Equal(OneExtended, gdb.Request($"p{I386St0 + 2:x}"));
        Assert.Equal(LittleEndian32(0x0FFC), gdb.Request($"p{I386Fctrl + 2:x}"));
        var xmm = new UInt128(0x0011_2233_4455_6677, 0x8899_AABB_CCDD_EEFF);
        Assert.Equal("OK", gdb.Request($"P{I386Xmm0 + 1:x}={LittleEndian128(xmm)}"));
        Assert.Equal(LittleEndian128(xmm), gdb.Request($"p{I386Xmm0 + 1:x}"));
        Assert.Equal("OK", gdb.Request($"P{I386Mxcsr:x}={LittleEndian32(0x1FC0)}"));
        Assert.Equal("E01", gdb.Request($"P{I386Xmm0:x}=00"));   // wrong length
        Assert.Equal("E01", gdb.Request($"p{I386Mxcsr + 1:x}")); // beyond the layout

        // G writes the whole block back: the same bytes change nothing and are accepted.
        string all = gdb.Request("g");
        Assert.Equal("OK", gdb.Request("G" + all));
        Assert.Equal(all, gdb.Request("g"));
        gdb.Send("k");
        Assert.Equal(MachineStopKind.Cancelled, Finish(run).Kind);

        Assert.Equal(xmm, machine.Cpu.GetXmm(1));
        Assert.Equal(0x1FC0u, machine.Cpu.Mxcsr);
        byte[] fxsave = [.. machine.Cpu.SaveState().X87Image!];
        Assert.Equal(0b1100_0001, fxsave[4]); // abridged tag: R0 (ST2), R6 (ST0), R7 (ST1) in use
        Assert.Equal(OneExtended, Convert.ToHexString(fxsave.AsSpan(32 + 32, 10)).ToLowerInvariant());
    }

    [Fact]
    public void X86_64LayoutWhenTheCpuIsInLongMode()
    {
        using Machine machine = BuildMachine();
        EnterLongMode(machine);
        machine.Cpu.SetRegister(GeneralRegister.R8, 0x1122_3344_5566_7788);
        machine.Cpu.SetRegister(GeneralRegister.Rbx, 0xFFFF_8000_0000_1234);
        machine.Cpu.SetXmm(15, new UInt128(1, 2));
        using var stub = GdbStub.Listen(machine, new IPEndPoint(IPAddress.Loopback, 0));
        Task<MachineStopReason> run = Start(stub);
        using var gdb = new GdbTestClient(stub.LocalEndPoint);
        string xml = gdb.Request("qXfer:features:read:target.xml:0,ffff");
        Assert.Contains("<architecture>i386:x86-64</architecture>", xml, StringComparison.Ordinal);
        foreach (string name in (string[])["rax", "r15", "rip", "st7", "fop", "xmm15", "mxcsr", "fs_base", "gs_base", "k_gs_base", "cr8", "efer"])
        {
            Assert.Contains($"name=\"{name}\"", xml, StringComparison.Ordinal);
        }

        string registers = gdb.Request("g");
        Assert.Equal(X64RegisterBytes * 2, registers.Length);
        Assert.Equal(0xFFFF_8000_0000_1234UL, Register64(registers, 1));   // rbx is number 1 in gdb's amd64 order
        Assert.Equal(0x1122_3344_5566_7788UL, Register64(registers, 8));
        Assert.Equal(CodeAddress, Register64(registers, X64Rip));
        Assert.Equal(LittleEndian64(0x1122_3344_5566_7788), gdb.Request("p8"));
        Assert.Equal(LittleEndian128(new UInt128(1, 2)), gdb.Request($"p{X64Xmm0 + 15:x}"));
        Assert.Equal(LittleEndian64(PageTables), gdb.Request($"p{X64Cr3:x}"));
        ulong efer = BinaryPrimitives.ReadUInt64LittleEndian(Convert.FromHexString(gdb.Request($"p{X64Efer:x}")));
        Assert.Equal(EferLme | EferLma, efer & (EferLme | EferLma));

        Assert.Equal("OK", gdb.Request($"P9={LittleEndian64(0xDEAD_BEEF_0000_0001)}"));
        Assert.Equal("OK", gdb.Request($"P{X64Rip:x}={LittleEndian64(CodeAddress + 2)}"));
        Assert.Equal("OK", gdb.Request($"P{X64FsBase:x}={LittleEndian64(0x7FFF_0000_1000)}"));
        Assert.Equal("E01", gdb.Request($"P{X64Cr3:x}={LittleEndian64(0x1000)}"));   // control registers are read-only
        Assert.Equal("OK", gdb.Request($"P{X64Cr3:x}={LittleEndian64(PageTables)}")); // ... but their own value is accepted
        gdb.Send("k");
        Assert.Equal(MachineStopKind.Cancelled, Finish(run).Kind);

        Assert.Equal(0xDEAD_BEEF_0000_0001UL, machine.Cpu.GetRegister(GeneralRegister.R9));
        Assert.Equal(CodeAddress + 2, machine.Cpu.Rip);
        Assert.Equal(0x7FFF_0000_1000UL, machine.Cpu.GetSegment(SegmentRegister.Fs).Base);
    }

    private static Task<MachineStopReason> Start(GdbStub stub) => Task.Factory.StartNew(
        () => stub.Run(maxInstructions: 1_000_000_000, waitForAttach: true),
        CancellationToken.None,
        TaskCreationOptions.LongRunning,
        TaskScheduler.Default);

    private static MachineStopReason Finish(Task<MachineStopReason> run)
    {
        Assert.True(run.Wait(TimeSpan.FromSeconds(60)), "the stub's Run did not return");
        return run.Result;
    }

    /// <summary>A flat protected-mode guest: FLD1; FLDPI; then a tight loop.</summary>
    private static Machine BuildMachine()
    {
        var asm = new Assembler(32);
        Label spin = asm.CreateLabel();
        asm.fld1();
        asm.fldpi();
        asm.Label(ref spin);
        asm.jmp(spin);
        var code = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(code), CodeAddress);
        return new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
            .WithFlatBinary(code.ToArray(), new PhysicalAddress(CodeAddress), BootEntryState.FlatProtectedMode(CodeAddress, "gdb register test"))
            .Build();
    }

    /// <summary>Puts the CPU in 64-bit mode (Intel SDM Vol. 3A, 10.8.5): 4-level tables identity-mapping 2 MiB, CR4.PAE, EFER.LME, CR0.PG, a 64-bit CS.</summary>
    private static void EnterLongMode(Machine machine)
    {
        const uint pdpt = PageTables + 0x1000;
        const uint directory = PageTables + 0x2000;
        const ulong presentWritable = 3;
        const ulong largePage = 1 << 7;
        machine.Memory.WriteQuadWord(new PhysicalAddress(PageTables), pdpt | presentWritable);
        machine.Memory.WriteQuadWord(new PhysicalAddress(pdpt), directory | presentWritable);
        machine.Memory.WriteQuadWord(new PhysicalAddress(directory), largePage | presentWritable);
        Virt.Cpu.Cpu cpu = machine.Cpu;
        Assert.True(cpu.TryWriteMsr(EferMsr, EferLme), "the CPU model has long mode");
        cpu.Cr4 |= 1 << 5;
        cpu.Cr3 = PageTables;
        cpu.Cr0 |= 0x8000_0001;
        cpu.SetSegment(SegmentRegister.Cs, new SegmentState(0x08, 0, 0xFFFF_FFFF, 0xA09B));
        Assert.Equal(EferLma, cpu.Efer & EferLma);
    }

    private static ulong Register64(string registers, int number) =>
        BinaryPrimitives.ReadUInt64LittleEndian(Convert.FromHexString(registers.AsSpan(number * 16, 16)));

    private static string LittleEndian32(uint value) => Convert.ToHexString(BitConverter.GetBytes(value)).ToLowerInvariant();

    private static string LittleEndian64(ulong value) => Convert.ToHexString(BitConverter.GetBytes(value)).ToLowerInvariant();

    private static string LittleEndian128(UInt128 value)
    {
        byte[] bytes = new byte[16];
        BinaryPrimitives.WriteUInt128LittleEndian(bytes, value);
        return Convert.ToHexString(bytes).ToLowerInvariant();
    }
}
