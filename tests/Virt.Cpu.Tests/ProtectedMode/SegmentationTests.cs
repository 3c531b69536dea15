using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>Protected-mode segment loads, their checks and error codes (Intel SDM Vol. 3A, chapters 3 and 5; Vol. 2B, MOV).</summary>
public sealed class SegmentationTests
{
    [Fact]
    public void Real_mode_guest_enters_protected_mode_and_returns_to_unreal_mode()
    {
        var m = new H();
        m.Cpu.Reset();
        m.Memory.WriteQuadWord(new PhysicalAddress(0x700), 0); // GDTR image at 700h: limit 67h, base 800h
        m.Memory.WriteWord(new PhysicalAddress(0x700), 0x67);
        m.Memory.WriteDoubleWord(new PhysicalAddress(0x702), H.GdtAddress);

        // Real mode at 0000:2000: LGDT, PE, far jump to 0008:3000 (flat 32-bit code).
        byte[] real = H.Assemble(16, a =>
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.lgdt(__[0x700]);
            a.mov(eax, cr0);
            a.or(eax, 1);
            a.mov(cr0, eax);
            a.db(0x66, 0xEA, 0x00, 0x30, 0x00, 0x00, 0x08, 0x00); // JMP FAR 0008:00003000
        }, 0x2000);

        // 32-bit: load flat DS, go to 16-bit code (selector 18h), clear PE there, far jump back to real mode.
        byte[] pm = H.Assemble(32, a =>
        {
            a.mov(ax, H.FlatData);
            a.mov(ds, ax);
            a.mov(ebx, 0x12345678);
            a.db(0xEA, 0x00, 0x40, 0x00, 0x00, 0x18, 0x00); // JMP FAR 0018:00004000
        }, 0x3000);
        byte[] back = H.Assemble(16, a =>
        {
            a.mov(eax, cr0);
            a.and(eax, ~1);
            a.mov(cr0, eax);
            a.db(0xEA, 0x00, 0x50, 0x00, 0x00); // JMP FAR 0000:5000 (real mode)
        }, 0x4000);

        // Unreal mode: DS still has its 4 GiB limit, so a 32-bit offset above 64 KiB works.
        byte[] unreal = H.Assemble(16, a =>
        {
            a.mov(__dword_ptr[ecx], ebx);
            a.hlt();
        }, 0x5000);
        m.Memory.Write(new PhysicalAddress(0x2000), real);
        m.Memory.Write(new PhysicalAddress(0x3000), pm);
        m.Memory.Write(new PhysicalAddress(0x4000), back);
        m.Memory.Write(new PhysicalAddress(0x5000), unreal);
        m.Cpu.SetSegment(SegmentRegister.Cs, SegmentState.RealMode(0));
        m.Cpu.Eip = 0x2000;
        m.Cpu.SetRegister(GeneralRegister.Rcx, 0x000A_0000);

        Assert.Equal(StopReason.Halted, m.Cpu.Run(1000));
        Assert.False(m.Cpu.IsProtectedMode);
        Assert.Equal(0x12345678u, m.Dword(0xA0000));
        Assert.Equal(0xFFFF_FFFFu, m.Cpu.GetSegment(SegmentRegister.Ds).Limit);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);

        // The loads set the accessed bits of the descriptors in the GDT (Intel SDM Vol. 3A, 3.4.5.1).
        Assert.Equal(1UL << 40, m.Descriptor(H.FlatCode) & (1UL << 40));
        Assert.Equal(1UL << 40, m.Descriptor(H.FlatData) & (1UL << 40));
    }

    [Fact]
    public void Loading_a_not_present_data_segment_is_np_with_the_selector_as_error_code()
    {
        var m = new H();
        m.InstallGate(11);
        m.Run(a =>
        {
            a.mov(ax, H.NotPresentData);
            a.mov(ds, ax); // 10004h
            a.hlt();
        });
        Assert.Equal(11, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HandlerAddress(11) + 1, m.Cpu.Eip);
        Assert.Equal((uint)H.NotPresentData, m.Dword(H.StackTop - 16)); // error code
        Assert.Equal(H.CodeAddress + 4, m.Dword(H.StackTop - 12)); // EIP of the faulting MOV
        Assert.Equal((uint)H.FlatCode, m.Dword(H.StackTop - 8));
        Assert.Equal(H.FlatData, m.Cpu.GetSegment(SegmentRegister.Ds).Selector);
    }

    [Theory]
    [InlineData(H.ReadOnlyData, (int)SegmentRegister.Ss, 13, H.ReadOnlyData)] // SS must be writable
    [InlineData(H.ExecuteOnlyCode, (int)SegmentRegister.Ds, 13, H.ExecuteOnlyCode)] // execute-only code is not readable
    [InlineData(H.Dpl3Data, (int)SegmentRegister.Ss, 13, H.Dpl3Data)] // SS: DPL must equal CPL
    [InlineData(0x0000, (int)SegmentRegister.Ss, 13, 0)] // null SS
    [InlineData(0x0100, (int)SegmentRegister.Es, 13, 0x100)] // beyond the GDT limit
    [InlineData(0x0004, (int)SegmentRegister.Es, 13, 0x4)] // LDT selector with no LDT loaded
    [InlineData(H.Tss32, (int)SegmentRegister.Fs, 13, H.Tss32)] // system descriptor
    [InlineData(H.NotPresentData | 0, (int)SegmentRegister.Ss, 13, H.NotPresentData)] // not-present but wrong type checks first? (type is writable: #SS)
    public void Segment_loads_check_type_and_privilege(int selector, int segment, int vector, int errorCode)
    {
        var m = new H();
        if (selector == H.NotPresentData)
        {
            vector = 12; // a not-present writable data segment loaded into SS is #SS(selector)
        }

        m.InstallGate(vector);
        m.Run(a =>
        {
            a.mov(ax, (ushort)selector);
            switch ((SegmentRegister)segment)
            {
                case SegmentRegister.Ss: a.mov(ss, ax); break;
                case SegmentRegister.Ds: a.mov(ds, ax); break;
                case SegmentRegister.Es: a.mov(es, ax); break;
                default: a.mov(fs, ax); break;
            }

            a.hlt();
        });
        Assert.Equal(vector, m.Cpu.LastExceptionVector);
        Assert.Equal((uint)errorCode, m.Dword(H.StackTop - 16));
    }

    [Fact]
    public void Null_selector_loads_into_data_registers_and_rpl_above_dpl_is_refused()
    {
        var m = new H();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.xor(eax, eax);
            a.mov(es, ax); // allowed: ES becomes unusable
            a.mov(ax, H.FlatData | 3);
            a.mov(ds, ax); // RPL 3 > DPL 0: #GP(10h)
            a.hlt();
        });
        Assert.Equal(0, m.Cpu.GetSegment(SegmentRegister.Es).Selector);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal((uint)H.FlatData, m.Dword(H.StackTop - 16));
    }

    [Fact]
    public void Segment_cache_takes_base_limit_and_granularity_from_the_descriptor()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(ax, H.ReadOnlyData);
            a.mov(fs, ax);
            a.mov(eax, __dword_ptr.fs[0x10]);
            a.hlt();
        });
        SegmentState fsState = m.Cpu.GetSegment(SegmentRegister.Fs);
        Assert.Equal(0x20000UL, fsState.Base);
        Assert.Equal(0xFFFu, fsState.Limit);
        Assert.Equal(0xFFFF_FFFFu, m.Cpu.GetSegment(SegmentRegister.Ds).Limit); // G = 1: FFFFFh pages
    }

    [Fact]
    public void Access_beyond_the_limit_is_gp_zero_and_on_the_stack_ss_zero()
    {
        var m = new H();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.mov(ax, H.ReadOnlyData);
            a.mov(fs, ax);
            a.mov(eax, __dword_ptr.fs[0xFFE]); // bytes FFEh-1001h: beyond FFFh
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0u, m.Dword(H.StackTop - 16));
    }

    [Fact]
    public void Sixteen_bit_stack_segment_uses_sp()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(ax, H.Data16);
            a.mov(ss, ax);
            a.mov(esp, 0x1234_0100);
            a.push(0x55AA);
            a.hlt();
        });
        Assert.Equal(0x1234_00FCUL, m.Reg(GeneralRegister.Rsp)); // only SP moved (B = 0)
        Assert.Equal(0x55AAu, m.Dword(0x40000 + 0xFC));
    }

    [Fact]
    public void Ldt_and_task_register_load_and_store()
    {
        var m = new H();
        m.Memory.WriteQuadWord(new PhysicalAddress(0x3808), 0x00CF_9200_0000_FFFF); // LDT entry 1: flat data
        m.Run(a =>
        {
            a.mov(ax, H.Ldt);
            a.lldt(ax);
            a.mov(ax, H.Tss32);
            a.ltr(ax);
            a.mov(ax, 0x0C); // LDT entry 1, TI = 1
            a.mov(gs, ax);
            a.sldt(ebx);
            a.str(ecx);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal((ulong)H.Ldt, m.Reg(GeneralRegister.Rbx));
        Assert.Equal((ulong)H.Tss32, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0x0C, m.Cpu.GetSegment(SegmentRegister.Gs).Selector);
        Assert.Equal(0x3800UL, m.Cpu.Ldtr.Base);
        Assert.Equal(0x3000UL, m.Cpu.TaskRegister.Base);
        Assert.Equal(0xBUL, (m.Descriptor(H.Tss32) >> 40) & 0xF); // LTR marks the TSS busy
    }

    [Fact]
    public void Sldt_is_undefined_in_real_mode()
    {
        var m = new CpuHarness();
        m.InstallHaltHandler(6);
        m.Run(a =>
        {
            a.sldt(ax);
            a.hlt();
        });
        Assert.Equal(6, m.Cpu.LastExceptionVector);
    }

    [Theory]
    [InlineData(0x0FFFu, false)] // at the limit: below the valid range of an expand-down segment
    [InlineData(0x1000u, true)] // limit + 1: the first valid offset
    [InlineData(0xFFFCu, true)] // the last dword below the 64 KiB upper bound (B = 0)
    [InlineData(0xFFFEu, false)] // crosses FFFFh
    public void Expand_down_segments_accept_offsets_above_the_limit(uint offset, bool valid)
    {
        var m = new H();
        m.InstallGate(13);
        m.Load(a =>
        {
            a.mov(ax, H.ExpandDownData);
            a.mov(es, ax);
            a.mov(__dword_ptr.es[ebx], 0x11223344);
            a.hlt();
        });
        m.Cpu.SetRegister(GeneralRegister.Rbx, offset);
        m.Cpu.Run(100);
        if (valid)
        {
            Assert.Equal(0x11223344u, m.Dword(0x30000 + offset));
            Assert.Equal(-1, m.Cpu.LastExceptionVector);
        }
        else
        {
            Assert.Equal(13, m.Cpu.LastExceptionVector);
            Assert.Equal(0u, m.Dword(H.StackTop - 16));
        }
    }

    [Fact]
    public void Writing_a_read_only_segment_or_using_a_null_one_is_gp_zero()
    {
        var m = new H();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.mov(ax, H.ReadOnlyData);
            a.mov(fs, ax);
            a.mov(eax, __dword_ptr.fs[0]); // reading is fine
            a.mov(__dword_ptr.fs[0], eax); // 1000Dh (after 4 + 2 + 7 bytes): writing is #GP(0)
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(H.CodeAddress + 13, m.Dword(H.StackTop - 12));

        m.Run(a =>
        {
            a.xor(eax, eax);
            a.mov(gs, ax);
            a.mov(eax, __dword_ptr.gs[0x100]); // 10005h (after 2 + 3 bytes): null segment
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(H.CodeAddress + 5, m.Dword(H.StackTop - 12));
    }
}
