using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>
/// IRET and far RET to an outer privilege level in IA-32e mode null DS, ES, FS and GS when they hold a data or
/// non-conforming code segment the new level may not use (Intel SDM Vol. 2A, IRET, and Vol. 2B, RET,
/// "RETURN-TO-OUTER-PRIVILEGE-LEVEL"), and keep the FS and GS bases (System/Cpu.FarTransfers.cs, NullDataSegmentsForLevel).
/// </summary>
public sealed class OuterReturnSegmentTests
{
    private const uint MsrFsBase = 0xC000_0100;
    private const uint MsrGsBase = 0xC000_0101;
    private const ulong FsBase = 0x0000_7F00_1234_5000;
    private const ulong GsBase = 0x0000_7F00_6789_A000;
    private const uint UserStackTop = 0x7E000;
    private const uint User32Address = 0x26000;

    private static void WriteMsr(Iced.Intel.Assembler a, uint msr, ulong value)
    {
        a.mov(ecx, msr);
        a.mov(eax, (uint)value);
        a.mov(edx, (uint)(value >> 32));
        a.wrmsr();
    }

    private static SegmentState Segment(H m, SegmentRegister register) => m.Cpu.GetSegment(register);

    [Fact]
    public void Iretq_to_cpl3_nulls_the_dpl0_data_segments_keeps_the_fs_base_and_the_user_gs()
    {
        var m = new H();
        m.Load(a =>
        {
            var user = a.CreateLabel();
            a.mov(ax, H.DataUser | 3);
            a.mov(gs, ax); // DPL 3: stays
            WriteMsr(a, MsrFsBase, FsBase); // FS keeps the harness's DPL 0 data selector, with a 64-bit base
            a.push(H.DataUser | 3);
            a.push((int)UserStackTop);
            a.pushfq();
            a.push(H.Code64User | 3);
            a.lea(rax, __[user]);
            a.push(rax);
            a.iretq();
            a.Label(ref user);
            a.@int(0x43);
        });
        m.SetGate(0x43, H.HandlerAddress(0x43), dpl: 3);

        m.Cpu.Run(10_000);

        Assert.Equal(H.HaltedIn(0x43), m.Cpu.Rip);
        Assert.Equal(0, Segment(m, SegmentRegister.Ds).Selector);
        Assert.Equal(0, Segment(m, SegmentRegister.Es).Selector);
        Assert.Equal(0, Segment(m, SegmentRegister.Fs).Selector);
        Assert.Equal(FsBase, Segment(m, SegmentRegister.Fs).Base); // 64-bit mode: the base survives the nulling
        Assert.Equal(H.DataUser | 3, Segment(m, SegmentRegister.Gs).Selector);
    }

    [Fact]
    public void Retfq_to_cpl3_keeps_the_fs_and_gs_bases_of_null_and_nulled_segments()
    {
        var m = new H();
        m.Load(a =>
        {
            var user = a.CreateLabel();
            a.xor(eax, eax);
            a.mov(fs, ax); // already null: not a data segment, left alone
            WriteMsr(a, MsrFsBase, FsBase);
            WriteMsr(a, MsrGsBase, GsBase); // GS holds the DPL 0 data selector: nulled, base kept
            a.push(H.DataUser | 3);
            a.push((int)UserStackTop);
            a.push(H.Code64User | 3);
            a.lea(rax, __[user]);
            a.push(rax);
            a.db(0x48, 0xCB); // RETFQ
            a.Label(ref user);
            a.@int(0x43);
        });
        m.SetGate(0x43, H.HandlerAddress(0x43), dpl: 3);

        m.Cpu.Run(10_000);

        Assert.Equal(H.HaltedIn(0x43), m.Cpu.Rip);
        Assert.Equal(0, Segment(m, SegmentRegister.Ds).Selector);
        Assert.Equal(FsBase, Segment(m, SegmentRegister.Fs).Base);
        Assert.Equal(0, Segment(m, SegmentRegister.Gs).Selector);
        Assert.Equal(GsBase, Segment(m, SegmentRegister.Gs).Base);
    }

    [Fact]
    public void Iretd_from_64_bit_mode_to_compatibility_mode_at_cpl3_nulls_ds()
    {
        var m = new H();
        m.Load(a =>
        {
            // A 4-byte frame: EIP, CS, EFLAGS, ESP, SS.
            a.sub(rsp, 20);
            a.mov(__dword_ptr[rsp], User32Address);
            a.mov(__dword_ptr[rsp + 4], H.Code32User | 3);
            a.mov(__dword_ptr[rsp + 8], 2);
            a.mov(__dword_ptr[rsp + 12], UserStackTop);
            a.mov(__dword_ptr[rsp + 16], H.DataUser | 3);
            a.iretd();
        });
        m.Memory.Write(new PhysicalAddress(User32Address), H.Assemble(32, a => a.@int(0x43), User32Address));
        m.SetGate(0x43, H.HandlerAddress(0x43), dpl: 3);

        m.Cpu.Run(10_000);

        Assert.Equal(H.HaltedIn(0x43), m.Cpu.Rip);
        Assert.Equal(0, Segment(m, SegmentRegister.Ds).Selector);
        Assert.Equal(0, Segment(m, SegmentRegister.Es).Selector);
        Assert.Equal((ulong)(H.DataUser | 3), m.Qword(H.Rsp0Top - 8)); // the SS the INT frame saved: IRETD loaded it
    }
}
