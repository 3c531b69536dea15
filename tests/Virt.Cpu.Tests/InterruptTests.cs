using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>Real-mode interrupts and exceptions: IVT dispatch, return addresses, shadows, HLT, INTR and NMI.</summary>
public sealed class InterruptTests
{
    private sealed class TestPic : IInterruptController
    {
        public bool Pending { get; set; }

        public byte Vector { get; set; } = 0x20;

        public int Acknowledged { get; private set; }

        public bool IsInterruptPending => Pending;

        public byte Acknowledge()
        {
            Acknowledged++;
            Pending = false;
            return Vector;
        }
    }

    [Fact]
    public void Divide_error_pushes_the_address_of_the_faulting_instruction()
    {
        var m = new CpuHarness();
        m.Load(a =>
        {
            a.xor(bx, bx);
            a.div(bx); // at 1002h
            a.hlt();
        });
        m.InstallHaltHandler(0);
        Assert.Equal(StopReason.Halted, m.Cpu.Run(100));
        Assert.Equal(CpuHarness.HaltHandlerReturn(0), m.Cpu.Eip);
        Assert.Equal(0x1002, m.Word(0x8000 - 6)); // IP
        Assert.Equal(0, m.Word(0x8000 - 4)); // CS
    }

    [Fact]
    public void Int3_and_into_push_the_next_instruction()
    {
        var m = new CpuHarness();
        m.Load(a =>
        {
            a.int3(); // 1000h, 1 byte
            a.hlt();
        });
        m.InstallHaltHandler(3);
        m.Cpu.Run(100);
        Assert.Equal(0x1001, m.Word(0x8000 - 6));

        m.Load(a =>
        {
            a.mov(al, 0x7F);
            a.add(al, 1); // OF = 1
            a.into(); // 1004h
            a.hlt();
        });
        m.InstallHaltHandler(4);
        m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(4), m.Cpu.Eip);
        Assert.Equal(0x1005, m.Word(0x8000 - 6));
    }

    [Fact]
    public void Bound_out_of_range_raises_br_as_a_fault()
    {
        var m = new CpuHarness();
        m.Memory.WriteWord(new Virt.Memory.PhysicalAddress(0x600), 10);
        m.Memory.WriteWord(new Virt.Memory.PhysicalAddress(0x602), 20);
        m.Load(a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ax, 21);
            a.bound(ax, __dword_ptr[0x600]); // at 1007h
            a.hlt();
        });
        m.InstallHaltHandler(5);
        m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(5), m.Cpu.Eip);
        Assert.Equal(0x1007, m.Word(0x8000 - 6));
    }

    [Fact]
    public void Undefined_opcode_raises_ud_and_a_word_at_ffff_raises_gp()
    {
        var m = new CpuHarness();
        m.Load(a =>
        {
            a.ud2();
            a.hlt();
        });
        m.InstallHaltHandler(6);
        m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(6), m.Cpu.Eip);
        Assert.Equal(0x1000, m.Word(0x8000 - 6));

        m.Load(a =>
        {
            a.mov(bx, 0xFFFF);
            a.mov(ax, __word_ptr[bx]); // 1003h: word at DS:FFFF
            a.hlt();
        });
        m.InstallHaltHandler(13);
        m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(13), m.Cpu.Eip);
        Assert.Equal(0x1003, m.Word(0x8000 - 6));

        m.Load(a =>
        {
            a.mov(bp, 0xFFFF);
            a.mov(ax, __word_ptr[bp]); // SS:FFFF is #SS
            a.hlt();
        });
        m.InstallHaltHandler(12);
        m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(12), m.Cpu.Eip);
    }

    [Fact]
    public void Trap_flag_single_steps_with_the_next_instruction_as_return_address()
    {
        var m = new CpuHarness();
        m.Load(a =>
        {
            a.pushf();
            a.pop(ax);
            a.or(ax, 0x100);
            a.push(ax);
            a.popf(); // TF takes effect after POPF
            a.nop(); // trap after this one
            a.hlt();
        });
        m.InstallHaltHandler(1);
        m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(1), m.Cpu.Eip);
        ushort returnIp = m.Word(0x8000 - 6);
        Assert.True(returnIp is 0x1008 or 0x1009, $"return IP {returnIp:X4}");
        Assert.Equal(0u, m.Cpu.Flags & 0x100);
    }

    [Fact]
    public void Hlt_waits_for_an_external_interrupt_and_sti_has_a_one_instruction_shadow()
    {
        var m = new CpuHarness();
        var pic = new TestPic();
        m.Cpu.InterruptController = pic;
        m.Load(a =>
        {
            a.sti();
            a.hlt();
            a.mov(ax, 0x4242);
            a.hlt();
        });
        m.InstallHaltHandler(0x20);
        pic.Pending = true;

        // STI's shadow: the interrupt is taken only after HLT starts, which it then ends.
        Assert.Equal(StopReason.Halted, m.Cpu.Run(100));
        Assert.Equal(CpuHarness.HaltHandlerReturn(0x20), m.Cpu.Eip);
        Assert.Equal(0x1002, m.Word(0x8000 - 6)); // return to the instruction after HLT
        Assert.Equal(1, pic.Acknowledged);

        // Halted with nothing pending stays halted.
        Assert.Equal(StopReason.Halted, m.Cpu.Run(100));
        Assert.True(m.Cpu.IsHalted);
    }

    [Fact]
    public void Interrupts_wait_while_if_is_clear_and_after_mov_ss()
    {
        var m = new CpuHarness();
        var pic = new TestPic { Pending = true };
        m.Cpu.InterruptController = pic;
        m.Load(a =>
        {
            a.cli();
            a.mov(ax, 1);
            a.hlt();
        });
        m.InstallHaltHandler(0x20);
        m.Cpu.Run(100);
        Assert.Equal(0, pic.Acknowledged);
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rax) & 0xFFFF);
    }

    [Fact]
    public void Mov_ss_suppresses_the_single_step_trap_for_one_instruction()
    {
        var m = new CpuHarness();
        m.Load(a =>
        {
            a.mov(bx, ss); // 1000h
            a.pushf(); // 1002h
            a.pop(ax);
            a.or(ax, 0x100);
            a.push(ax);
            a.popf(); // 1008h: TF on from the next instruction
            a.mov(ss, bx); // 1009h: its trap is held back (Intel SDM Vol. 3A, 6.8.3)
            a.nop(); // 100Bh: the trap comes after this one
            a.hlt(); // 100Ch
        });
        m.InstallHaltHandler(1);
        m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(1), m.Cpu.Eip);
        Assert.Equal(0x100C, m.Word(0x8000 - 6));
    }

    [Fact]
    public void Thirty_two_bit_offsets_beyond_the_limit_raise_gp()
    {
        var m = new CpuHarness();
        m.Load(a =>
        {
            a.mov(ebx, 0x12000);
            a.mov(eax, __dword_ptr[ebx + 0x340]); // 1006h: 67h addressing, offset 12340h > FFFFh
            a.hlt();
        });
        m.InstallHaltHandler(13);
        m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(13), m.Cpu.Eip);
        Assert.Equal(0x1006, m.Word(0x8000 - 6));
    }

    private sealed class InterruptAfterWrites(TestPic pic, int writes) : Virt.Memory.IPortDevice
    {
        public int Count { get; private set; }

        public Virt.Memory.AccessWidths SupportedWidths => Virt.Memory.AccessWidths.UpToDoubleWord;

        public uint Read(ushort offset, int sizeInBytes) => 0;

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
            if (++Count == writes)
            {
                pic.Pending = true;
            }
        }
    }

    [Fact]
    public void Rep_outsb_is_interrupted_between_iterations_and_resumes()
    {
        var m = new CpuHarness();
        var pic = new TestPic();
        m.Cpu.InterruptController = pic;
        var device = new InterruptAfterWrites(pic, writes: 5);
        using IDisposable registration = m.Ports.Register("test", 0x300, 1, device);

        // Handler for vector 20h at 0000:0700: mov [600h], cx; inc bx; iret.
        m.Memory.Write(new Virt.Memory.PhysicalAddress(0x700), new byte[] { 0x89, 0x0E, 0x00, 0x06, 0x43, 0xCF });
        m.Memory.WriteWord(new Virt.Memory.PhysicalAddress(0x20 * 4), 0x700);
        m.Memory.WriteWord(new Virt.Memory.PhysicalAddress((0x20 * 4) + 2), 0);
        m.Run(a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(si, 0x2000);
            a.mov(dx, 0x300);
            a.mov(cx, 20);
            a.xor(bx, bx);
            a.cld();
            a.sti();
            a.rep.outsb();
            a.hlt();
        });

        // The interrupt was taken once, between iterations, and the REP then finished all 20 bytes.
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rbx) & 0xFFFF);
        Assert.Equal(20, device.Count);
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(0x2014UL, m.Reg(GeneralRegister.Rsi) & 0xFFFF);

        // It came after the fifth byte, with 15 left in CX.
        Assert.Equal(15, m.Word(0x600));
    }

    [Fact]
    public void Nmi_is_taken_at_the_next_boundary_and_blocked_until_iret()
    {
        var m = new CpuHarness();
        m.Load(a =>
        {
            a.nop();
            a.hlt();
        });
        m.InstallHaltHandler(2);
        m.Cpu.RaiseNmi();
        m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(2), m.Cpu.Eip);
        Assert.Equal(0x1000, m.Word(0x8000 - 6));
    }

    [Fact]
    public void Int_and_iret_round_trip()
    {
        var m = new CpuHarness();

        // Handler at 0000:0700: mov bx, 77h; iret.
        m.Memory.Write(new Virt.Memory.PhysicalAddress(0x700), new byte[] { 0xBB, 0x77, 0x00, 0xCF });
        m.Memory.WriteWord(new Virt.Memory.PhysicalAddress(0x40 * 4), 0x700);
        m.Memory.WriteWord(new Virt.Memory.PhysicalAddress((0x40 * 4) + 2), 0);
        m.Run(a =>
        {
            a.stc();
            a.@int(0x40);
            a.mov(ax, 1);
            a.hlt();
        });
        Assert.Equal(0x77UL, m.Reg(GeneralRegister.Rbx) & 0xFFFF);
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rax) & 0xFFFF);
        Assert.Equal(1u, m.Cpu.Flags & 1);
        Assert.Equal(0x8000UL, m.Reg(GeneralRegister.Rsp) & 0xFFFF);
    }

    [Fact]
    public void Request_stop_and_budget_are_honoured()
    {
        var m = new CpuHarness();
        m.Load(a =>
        {
            Iced.Intel.Label top = a.CreateLabel();
            a.Label(ref top);
            a.inc(ax);
            a.jmp(top);
        });
        Assert.Equal(StopReason.BudgetExhausted, m.Cpu.Run(1001));
        Assert.Equal(1001, m.Cpu.RetiredInstructions);
        m.Cpu.RequestStop();
        Assert.Equal(StopReason.StopRequested, m.Cpu.Run(1000));
    }

    [Fact]
    public void Save_and_restore_state_round_trips_and_replays_identically()
    {
        var m = new CpuHarness();
        m.Load(a =>
        {
            Iced.Intel.Label top = a.CreateLabel();
            a.mov(cx, 1000);
            a.Label(ref top);
            a.add(ax, cx);
            a.rol(ax, 3);
            a.loop(top);
            a.hlt();
        });
        m.Cpu.Run(500);
        CpuState saved = m.Cpu.SaveState();
        m.Cpu.Run(100_000);
        ulong first = m.Reg(GeneralRegister.Rax);
        long retired = m.Cpu.RetiredInstructions;
        m.Cpu.RestoreState(saved);
        Assert.Equal(saved.Eip, m.Cpu.Eip);
        m.Cpu.Run(100_000);
        Assert.Equal(first, m.Reg(GeneralRegister.Rax));
        Assert.Equal(retired, m.Cpu.RetiredInstructions);
        Assert.Throws<ArgumentException>(() => m.Cpu.RestoreState(saved with { Version = 99 }));
    }

    [Fact]
    public void Reset_state_is_architectural()
    {
        var m = new CpuHarness();
        m.Cpu.Reset();
        SegmentState cs = m.Cpu.GetSegment(SegmentRegister.Cs);
        Assert.Equal(0xF000, cs.Selector);
        Assert.Equal(0xFFFF0000UL, cs.Base);
        Assert.Equal(0xFFF0u, m.Cpu.Eip);
        Assert.Equal(2u, m.Cpu.Flags);
        Assert.Equal(0x60000010UL, m.Cpu.Cr0);
    }
}
