using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;
using V = Virt.Cpu.Tests.ProtectedMode.Virtual8086Harness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// Virtual-8086 mode (Intel SDM Vol. 3A, chapter 20): entry by IRET, real-mode segment arithmetic at CPL 3, the
/// IOPL-sensitive instructions, the I/O bitmap, interrupts and exceptions to the ring-0 monitor with the virtual-8086
/// stack frame (SDM Vol. 3A, 6.12.1, Figure 6-5), and the instructions that fault in virtual-8086 mode.
/// </summary>
public sealed class Virtual8086Tests
{
    private const int IntoMonitor = 0x50;
    private const int IntoMonitorAgain = 0x51;

    // Fault-class exceptions push EFLAGS with RF = 1 (Intel SDM Vol. 3B, 17.3.1.1); interrupts and traps push RF as it is (0).
    private const uint Rf = 0x10000;

    /// <summary>Asserts the nine dwords of the frame an interrupt from virtual-8086 mode pushes (no error code).</summary>
    private static void AssertV86Frame(V m, uint eip, uint eflags, ushort ss = V.V86Ss, uint esp = V.V86Sp, ushort ds = V.V86Ds, ushort es = V.V86Es)
    {
        Assert.Equal(V.V86Gs, m.Pushed(1));
        Assert.Equal(V.V86Fs, m.Pushed(2));
        Assert.Equal(ds, m.Pushed(3));
        Assert.Equal(es, m.Pushed(4));
        Assert.Equal(ss, m.Pushed(5));
        Assert.Equal(esp, m.Pushed(6));
        Assert.Equal(eflags, m.Pushed(7));
        Assert.Equal(V.V86Cs, m.Pushed(8));
        Assert.Equal(eip, m.Pushed(9));
    }

    /// <summary>After delivery: CPL 0 on SS0:ESP0 from the TSS, flat CS from the gate, DS/ES/FS/GS null, VM clear.</summary>
    private static void AssertInMonitor(V m, int frameDwords)
    {
        Assert.Equal(0, m.Cpu.Cpl);
        Assert.Equal(H.FlatCode, m.Cpu.GetSegment(SegmentRegister.Cs).Selector);
        Assert.Equal(H.FlatData, m.Cpu.GetSegment(SegmentRegister.Ss).Selector);
        Assert.Equal(V.Esp0 - (uint)(4 * frameDwords), (uint)m.Reg(GeneralRegister.Rsp));
        foreach (SegmentRegister s in new[] { SegmentRegister.Ds, SegmentRegister.Es, SegmentRegister.Fs, SegmentRegister.Gs })
        {
            Assert.Equal(0, m.Cpu.GetSegment(s).Selector);
        }

        Assert.Equal(0u, m.Cpu.Flags & V.FlagVm);
    }

    [Fact]
    public void Iret_enters_virtual_8086_mode_at_cpl_3_with_real_mode_segments()
    {
        var m = new V();
        m.Load(a => a.hlt(), V.Iopl3);
        int steps = 0;
        while ((m.Cpu.Flags & V.FlagVm) == 0 && steps++ < 50)
        {
            m.Cpu.Step();
        }

        Assert.Equal(3, m.Cpu.Cpl);
        Assert.Equal(0u, m.Cpu.Eip);
        Assert.Equal(V.V86Sp, (uint)m.Reg(GeneralRegister.Rsp));
        var expected = new (SegmentRegister Segment, ushort Selector)[]
        {
            (SegmentRegister.Cs, V.V86Cs), (SegmentRegister.Ss, V.V86Ss), (SegmentRegister.Ds, V.V86Ds),
            (SegmentRegister.Es, V.V86Es), (SegmentRegister.Fs, V.V86Fs), (SegmentRegister.Gs, V.V86Gs),
        };
        foreach ((SegmentRegister segment, ushort selector) in expected)
        {
            SegmentState state = m.Cpu.GetSegment(segment);
            Assert.Equal(selector, state.Selector);
            Assert.Equal((ulong)selector << 4, state.Base);
            Assert.Equal(0xFFFFu, state.Limit);
            Assert.Equal(0, state.Attributes & SegmentState.DefaultBigBit); // 16-bit code and stack
        }
    }

    [Fact]
    public void Int_n_with_iopl_3_enters_the_monitor_with_the_virtual_8086_frame()
    {
        var m = new V();
        m.Load(a =>
        {
            a.mov(ax, 0x1234); // 3 bytes
            a.@int(IntoMonitor); // at 3; returns to 5
        }, V.Iopl3);
        m.Machine.InstallGate(IntoMonitor, dpl: 3);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x1234UL, m.Reg(GeneralRegister.Rax) & 0xFFFF);
        AssertV86Frame(m, eip: 5, eflags: V.FlagVm | V.Iopl3 | 2);
        AssertInMonitor(m, 9);
        Assert.Equal(H.HandlerAddress(IntoMonitor) + 1, m.Cpu.Eip);
        Assert.Equal(0u, m.Cpu.Flags & (uint)CpuFlags.Interrupt); // interrupt gate
    }

    [Fact]
    public void Sixteen_bit_gate_pushes_a_word_frame_with_the_data_segments()
    {
        var m = new V();
        m.Load(a => a.@int(IntoMonitor), V.Iopl3);
        m.Machine.InstallGate(IntoMonitor, type: 0x6, dpl: 3); // 16-bit interrupt gate
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        ushort[] expected = [V.V86Gs, V.V86Fs, V.V86Ds, V.V86Es, V.V86Ss, V.V86Sp, (ushort)(V.Iopl3 | 2), V.V86Cs, 2];
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], m.Word(V.Esp0 - (uint)(2 * (i + 1))));
        }

        Assert.Equal(V.Esp0 - 18, (uint)m.Reg(GeneralRegister.Rsp));
        Assert.Equal(0, m.Cpu.GetSegment(SegmentRegister.Ds).Selector);
    }

    [Fact]
    public void Virtual_8086_code_uses_real_mode_segment_arithmetic_and_32_bit_operand_prefixes()
    {
        var m = new V();
        m.Load(a =>
        {
            a.mov(__word_ptr[0x10], 0xBEEF); // DS = 4000h: linear 40010h
            a.mov(ax, 0x4001);
            a.mov(es, ax);
            a.mov(bx, __word_ptr.es[0]); // 4001:0000 is linear 40010h too
            a.push(0x5000);
            a.pop(ss); // a real-mode style load: base 50000h
            a.mov(sp, 0x100);
            a.mov(ecx, 0x89ABCDEF); // 66h prefix
            a.push(ecx); // a dword on the 16-bit stack: SP = FCh
            a.mov(edx, __dword_ptr[bp + si + 0xFC]); // ...read back through SS (BP-based): 5000:00FC
            a.@int(IntoMonitor);
        }, V.Iopl3, beforeIret: a =>
        {
            a.xor(ebp, ebp);
            a.xor(esi, esi);
        });
        m.Machine.InstallGate(IntoMonitor, dpl: 3);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0xBEEF, m.Word(0x40010));
        Assert.Equal(0xBEEFUL, m.Reg(GeneralRegister.Rbx) & 0xFFFF);
        Assert.Equal(0x89ABCDEFu, m.Machine.Dword(0x500FC));
        Assert.Equal(0x89ABCDEFUL, m.Reg(GeneralRegister.Rdx));
        Assert.Equal(0x5000u, m.Pushed(5)); // SS
        Assert.Equal(0xFCu, m.Pushed(6)); // ESP
        Assert.Equal(0x4001u, m.Pushed(4)); // ES
    }

    [Fact]
    public void Iret_from_the_monitor_returns_to_virtual_8086_mode()
    {
        var m = new V();
        byte[] prefix = V.Code16(a =>
        {
            a.@int(IntoMonitor);
            a.mov(cx, ds);
            a.mov(dx, sp);
            a.pushf();
            a.pop(si);
        });
        m.Load(a =>
        {
            a.@int(IntoMonitor);
            a.mov(cx, ds);
            a.mov(dx, sp);
            a.pushf();
            a.pop(si);
            a.@int(IntoMonitorAgain);
        }, V.Iopl3);
        m.Machine.InstallGate(IntoMonitor, dpl: 3);
        m.Machine.InstallGate(IntoMonitorAgain, dpl: 3);
        m.Memory.WriteByte(new PhysicalAddress(H.HandlerAddress(IntoMonitor)), 0xCF); // IRETD
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal((ulong)V.V86Ds, m.Reg(GeneralRegister.Rcx) & 0xFFFF); // DS reloaded from the frame
        Assert.Equal((ulong)V.V86Sp, m.Reg(GeneralRegister.Rdx) & 0xFFFF);
        Assert.Equal(0x3002UL, m.Reg(GeneralRegister.Rsi) & 0xFFFF); // 16-bit PUSHF at IOPL 3: FLAGS with IOPL = 3
        AssertV86Frame(m, eip: (uint)prefix.Length + 2, eflags: V.FlagVm | V.Iopl3 | 2);
        AssertInMonitor(m, 9);
    }

    [Theory]
    [InlineData("FA", "CLI")]
    [InlineData("FB", "STI")]
    [InlineData("9C", "PUSHF")]
    [InlineData("669C", "PUSHFD")]
    [InlineData("9D", "POPF")]
    [InlineData("669D", "POPFD")]
    [InlineData("CD50", "INT 50h")]
    [InlineData("CD03", "INT 3 (CD form)")]
    [InlineData("CF", "IRET")]
    [InlineData("66CF", "IRETD")]
    public void Iopl_sensitive_instruction_with_iopl_below_3_is_gp0_to_the_monitor(string hex, string name)
    {
        var m = new V();
        m.LoadBytes(Convert.FromHexString(hex), eflags: 0x1000); // IOPL 1
        m.Machine.InstallGate(13);
        m.Machine.InstallGate(IntoMonitor, dpl: 3);
        m.Machine.InstallGate(3, dpl: 3);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.True(m.Cpu.LastExceptionVector == 13, name);
        AssertV86Frame(m, eip: 0, eflags: Rf | V.FlagVm | 0x1000 | 2);
        Assert.Equal(0u, m.Pushed(10)); // error code
        AssertInMonitor(m, 10);
    }

    [Fact]
    public void Cli_sti_and_popf_with_iopl_3_change_if_but_never_iopl_or_vm()
    {
        var m = new V();
        byte[] prefix = V.Code16(a =>
        {
            a.sti();
            a.pushf();
            a.pop(ax); // IF set
            a.cli();
            a.push(0x0200); // IF = 1, IOPL = 0
            a.popf();
            a.db(0x66, 0x6A, 0x02); // PUSH dword 2: VM = 0, IOPL = 0, IF = 0 (a 32-bit image)
            a.popfd();
            a.pushfd();
            a.pop(ebx);
        });
        m.LoadBytes([.. prefix, 0xCD, IntoMonitorAgain], V.Iopl3);
        m.Machine.InstallGate(IntoMonitorAgain, dpl: 3);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x3202UL, m.Reg(GeneralRegister.Rax) & 0xFFFF);
        Assert.Equal(0x3002UL, m.Reg(GeneralRegister.Rbx)); // PUSHFD clears VM in the image; IOPL stayed 3
        AssertV86Frame(m, eip: (uint)prefix.Length + 2, eflags: V.FlagVm | V.Iopl3 | 2);
    }

    [Fact]
    public void Iret_in_virtual_8086_mode_with_iopl_3_is_a_real_mode_style_return_that_keeps_iopl()
    {
        var m = new V();
        byte[] prefix = V.Code16(a =>
        {
            a.push(0x0200); // FLAGS image: IF, IOPL 0
            a.push(V.V86Cs);
            a.push(0x0100);
            a.iret();
        });
        m.LoadBytes([.. prefix], V.Iopl3);
        m.Memory.Write(new PhysicalAddress(((uint)V.V86Cs << 4) + 0x100), [0x9C, 0x58, 0xCD, IntoMonitorAgain]); // PUSHF; POP AX; INT 51h
        m.Machine.InstallGate(IntoMonitorAgain, dpl: 3);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x3202UL, m.Reg(GeneralRegister.Rax) & 0xFFFF);
        AssertV86Frame(m, eip: 0x104, eflags: V.FlagVm | V.Iopl3 | 0x200 | 2);
    }

    [Fact]
    public void Int3_is_not_iopl_sensitive_and_goes_through_the_idt()
    {
        var m = new V();
        m.LoadBytes([0xCC], eflags: 0); // INT3 with IOPL 0
        m.Machine.InstallGate(3, dpl: 3);
        m.Machine.InstallGate(13);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(H.HandlerAddress(3) + 1, m.Cpu.Eip);
        AssertV86Frame(m, eip: 1, eflags: V.FlagVm | 2);
        AssertInMonitor(m, 9);
    }

    [Fact]
    public void Int3_through_a_dpl_0_gate_is_gp_with_the_gate_in_the_error_code()
    {
        var m = new V();
        m.LoadBytes([0xCC], eflags: V.Iopl3);
        m.Machine.InstallGate(3, dpl: 0);
        m.Machine.InstallGate(13);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal((3u * 8) + 2, m.Pushed(10)); // IDT, vector 3
        AssertV86Frame(m, eip: 0, eflags: V.FlagVm | V.Iopl3 | Rf | 2); // the #GP is a fault of INT n (SDM 17.3.1.1)
    }

    [Theory]
    [InlineData(H.Code3, "DPL 3 code")]
    [InlineData(V.ConformingCode, "conforming DPL 0 code")]
    public void Handler_segment_must_be_non_conforming_dpl_0(ushort handlerSelector, string name)
    {
        var m = new V();
        m.LoadBytes([0xCD, IntoMonitor], V.Iopl3);
        m.Machine.InstallGate(13);
        uint handler = H.HandlerAddress(IntoMonitor);
        ulong gate = (handler & 0xFFFFUL) | ((ulong)handlerSelector << 16) | (0xEEUL << 40) | ((ulong)(handler >> 16) << 48);
        m.Memory.WriteQuadWord(new PhysicalAddress(H.IdtAddress + (IntoMonitor * 8)), gate);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.True(m.Cpu.LastExceptionVector == 13, name);
        Assert.Equal(handlerSelector & 0xFFFCu, m.Pushed(10));
        AssertV86Frame(m, eip: 0, eflags: V.FlagVm | V.Iopl3 | Rf | 2); // the #GP is a fault of INT n (SDM 17.3.1.1)
    }

    [Fact]
    public void Io_bitmap_is_consulted_even_with_iopl_3()
    {
        var m = new V();
        m.AllowPort(0x60);
        m.AllowPort(0x80);
        byte[] prefix = V.Code16(a =>
        {
            a.xor(ax, ax);
            a.@in(al, 0x60); // allowed: an unmapped port reads FFh
            a.@out(0x80, al); // allowed
        });
        m.LoadBytes([.. prefix, 0xE6, 0x81], V.Iopl3); // OUT 81h, AL: denied by the bitmap
        m.Machine.InstallGate(13);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0xFFUL, m.Reg(GeneralRegister.Rax) & 0xFFFF);
        Assert.Equal(0u, m.Pushed(10));
        AssertV86Frame(m, eip: (uint)prefix.Length, eflags: Rf | V.FlagVm | V.Iopl3 | 2 | 0x44 /* ZF PF from XOR */);
    }

    [Fact]
    public void Word_access_needs_both_port_bits_clear()
    {
        var m = new V();
        m.AllowPort(0x60);
        m.LoadBytes([0xE5, 0x60], V.Iopl3); // IN AX, 60h: ports 60h and 61h, 61h denied
        m.Machine.InstallGate(13);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        AssertV86Frame(m, eip: 0, eflags: Rf | V.FlagVm | V.Iopl3 | 2);
    }

    [Fact]
    public void Divide_error_in_virtual_8086_mode_is_delivered_with_the_v86_frame()
    {
        var m = new V();
        byte[] prefix = V.Code16(a => a.xor(bl, bl));
        m.LoadBytes([.. prefix, 0xF6, 0xF3], eflags: 0); // DIV BL
        m.Machine.InstallGate(0);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(0, m.Cpu.LastExceptionVector);
        AssertV86Frame(m, eip: (uint)prefix.Length, eflags: Rf | V.FlagVm | 2 | 0x44 /* ZF PF from XOR */);
        AssertInMonitor(m, 9);
    }

    [Theory]
    [InlineData(0x6u, 4)] // not present: P = 0, user read
    [InlineData(0x3u, 5)] // present but supervisor-only: P = 1, user read
    public void Page_fault_in_virtual_8086_mode_is_a_user_access_with_cr2(uint pteFlags, int errorCode)
    {
        // Identity-map the first 1 MiB with user, writable pages; page 45000h gets the given PTE flags.
        const uint directory = 0x61000;
        const uint table = 0x62000;
        var m = new V();
        m.Memory.WriteDoubleWord(new PhysicalAddress(directory), table | 7);
        for (uint page = 0; page < 256; page++)
        {
            m.Memory.WriteDoubleWord(new PhysicalAddress(table + (page * 4)), (page << 12) | (page == 0x45 ? pteFlags : 7));
        }

        byte[] prefix = V.Code16(a =>
        {
            a.mov(ax, 0x4500);
            a.mov(ds, ax);
        });
        m.Load(a =>
        {
            a.mov(ax, 0x4500);
            a.mov(ds, ax);
            a.mov(ax, __word_ptr[0x123]);
        }, eflags: 0, beforeIret: a =>
        {
            a.mov(eax, directory);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, unchecked((int)0x8000_0000));
            a.mov(cr0, eax);
        });
        m.Machine.InstallGate(14);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(14, m.Cpu.LastExceptionVector);
        Assert.Equal(0x45123UL, m.Cpu.Cr2);
        Assert.Equal((uint)errorCode, m.Pushed(10));
        AssertV86Frame(m, eip: (uint)prefix.Length, eflags: Rf | V.FlagVm | 2, ds: 0x4500);
    }

    [Theory]
    [InlineData("0F02C3", "LAR")]
    [InlineData("0F03C3", "LSL")]
    [InlineData("0F00E0", "VERR")]
    [InlineData("0F00E8", "VERW")]
    [InlineData("0F00C0", "SLDT")]
    [InlineData("0F00C8", "STR")]
    [InlineData("0F00D0", "LLDT")]
    [InlineData("0F00D8", "LTR")]
    [InlineData("63C3", "ARPL")]
    public void Protected_mode_only_instruction_is_ud_in_virtual_8086_mode(string hex, string name)
    {
        var m = new V();
        m.LoadBytes(Convert.FromHexString(hex), V.Iopl3);
        m.Machine.InstallGate(6);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.True(m.Cpu.LastExceptionVector == 6, name);
        AssertV86Frame(m, eip: 0, eflags: Rf | V.FlagVm | V.Iopl3 | 2);
        AssertInMonitor(m, 9);
    }

    [Theory]
    [InlineData("F4", "HLT")]
    [InlineData("0F01160000", "LGDT")]
    [InlineData("0F011E0000", "LIDT")]
    [InlineData("0F22C0", "MOV CR0, EAX")]
    [InlineData("0F20C0", "MOV EAX, CR0")]
    [InlineData("0F23F8", "MOV DR7, EAX")]
    [InlineData("0F21F8", "MOV EAX, DR7")]
    [InlineData("0F06", "CLTS")]
    [InlineData("0F01F0", "LMSW")]
    [InlineData("0F013E0000", "INVLPG")]
    [InlineData("0F09", "WBINVD")]
    [InlineData("0F08", "INVD")]
    [InlineData("0F32", "RDMSR")]
    [InlineData("0F30", "WRMSR")]
    [InlineData("0F35", "SYSEXIT")]
    public void Privileged_instruction_is_gp0_in_virtual_8086_mode(string hex, string name)
    {
        var m = new V();
        m.LoadBytes(Convert.FromHexString(hex), V.Iopl3);
        m.Machine.InstallGate(13);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.True(m.Cpu.LastExceptionVector == 13, name);
        Assert.Equal(0u, m.Pushed(10));
        AssertV86Frame(m, eip: 0, eflags: Rf | V.FlagVm | V.Iopl3 | 2);
    }

    [Fact]
    public void External_interrupt_in_virtual_8086_mode_goes_through_the_idt_without_the_dpl_check()
    {
        var m = new V();
        var pic = new SinglePic(0x20);
        m.Cpu.InterruptController = pic;
        byte[] prefix = V.Code16(a =>
        {
            a.sti();
            a.nop(); // the interrupt is taken after the instruction that follows STI
        });
        m.LoadBytes([.. prefix, 0x90, 0xF4], V.Iopl3);
        m.Machine.InstallGate(0x20, dpl: 0);
        m.Machine.InstallGate(13);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HandlerAddress(0x20) + 1, m.Cpu.Eip);
        AssertV86Frame(m, eip: (uint)prefix.Length, eflags: V.FlagVm | V.Iopl3 | 0x200 | 2);
        AssertInMonitor(m, 9);
    }

    [Fact]
    public void Sysenter_from_virtual_8086_mode_enters_cpl_0_and_clears_vm()
    {
        var m = new V();
        m.LoadBytes([0x0F, 0x34], V.Iopl3, beforeIret: a =>
        {
            // SYSENTER_CS = flat code, SYSENTER_ESP = 60000h, SYSENTER_EIP = the HLT of vector 60h's handler slot.
            a.xor(edx, edx);
            a.mov(ecx, 0x174);
            a.mov(eax, (uint)H.FlatCode);
            a.wrmsr();
            a.mov(ecx, 0x175);
            a.mov(eax, 0x60000);
            a.wrmsr();
            a.mov(ecx, 0x176);
            a.mov(eax, H.HandlerAddress(0x60));
            a.wrmsr();
        });
        m.Machine.InstallGate(0x60);
        m.Machine.InstallGate(13);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HandlerAddress(0x60) + 1, m.Cpu.Eip);
        Assert.Equal(0, m.Cpu.Cpl);
        Assert.Equal(0x60000UL, m.Reg(GeneralRegister.Rsp));
        Assert.Equal(0u, m.Cpu.Flags & V.FlagVm);
    }

    [Fact]
    public void Sixteen_bit_iret_cannot_enter_virtual_8086_mode()
    {
        // IRET with a 16-bit operand pops IP, CS and a 16-bit FLAGS image, which has no VM bit: the word above it holds
        // 0002h, where a 32-bit image would have VM (bit 17), and must be ignored.
        var m = new V();
        m.Machine.InstallGate(0x61);
        uint target = H.HandlerAddress(0x61);
        m.Machine.Load(a =>
        {
            a.push(0x0002_0002); // FLAGS = 0002h, then the word a 32-bit image would continue with
            a.push((int)(((uint)H.FlatCode << 16) | target)); // CS:IP
            a.db(0x66, 0xCF); // IRET (16-bit operand)
        });
        Assert.Equal(StopReason.Halted, m.Cpu.Run(20));
        Assert.Equal(target + 1, m.Cpu.Eip);
        Assert.Equal(0u, m.Cpu.Flags & V.FlagVm);
        Assert.Equal(0, m.Cpu.Cpl);
    }

    [Fact]
    public void Snapshot_in_virtual_8086_mode_restores_cpl_3()
    {
        var m = new V();
        m.Load(a => a.nop(), V.Iopl3);
        while ((m.Cpu.Flags & V.FlagVm) == 0)
        {
            m.Cpu.Step();
        }

        CpuState state = m.Cpu.SaveState();
        m.Cpu.Reset();
        m.Cpu.RestoreState(state);
        Assert.Equal(3, m.Cpu.Cpl);
    }

    private sealed class SinglePic(byte vector) : IInterruptController
    {
        private bool _pending = true;

        public bool IsInterruptPending => _pending;

        public byte Acknowledge()
        {
            _pending = false;
            return vector;
        }
    }
}
