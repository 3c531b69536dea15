using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// Hardware task switching (Intel SDM Vol. 3A, chapter 8): JMP and CALL to TSS descriptors and task gates, IDT task gates,
/// IRET with NT, 32- and 16-bit TSSs, the busy bits, back link and NT, CR0.TS, CR3 and LDTR loading, the T bit, and the
/// faults of Table 8-1 before and after the commit point. Task A is the harness's TSS (48h at 3000h), loaded with LTR.
/// </summary>
public sealed class TaskSwitchTests
{
    private const ushort TssB = 0x70;
    private const ushort TssC = 0x78;
    private const ushort GateB = 0x80;
    private const ushort Tss16 = 0x88;
    private const ushort TssSmall = 0x90;
    private const ushort TssAbsent = 0x98;
    private const ushort BeyondGdt = 0x1F8;

    private const uint TssAAddress = 0x3000;
    private const uint TssBAddress = 0x4000;
    private const uint TssCAddress = 0x5000;
    private const uint Tss16Address = 0x6000;
    private const uint TaskBCode = 0x12000;
    private const uint TaskCCode = 0x13000;
    private const uint Task16Code = 0x6100;
    private const uint TaskBStack = 0x7E000;
    private const uint TaskCStack = 0x7D000;

    private const int TypeTss32 = 9;
    private const int TypeTss32Busy = 11;
    private const int TypeTss16 = 1;
    private const uint FlagNt = 1u << 14;

    /// <summary>
    /// A harness whose task A runs <paramref name="taskA"/> after LTR 48h, with tasks B and C (32-bit TSSs at 4000h and
    /// 5000h, code at 12000h and 13000h, flat segments, registers 0Bxx_000i and 0Cxx_000i), a task gate to B, a 16-bit TSS
    /// descriptor, one with a too-small limit and one not present.
    /// </summary>
    private static H Create(Action<Assembler> taskA, Action<Assembler>? taskB = null, Action<Assembler>? taskC = null)
    {
        var m = new H();
        m.Memory.Write(new PhysicalAddress(TaskBCode), H.Assemble(32, taskB ?? (a => a.hlt()), TaskBCode));
        m.Memory.Write(new PhysicalAddress(TaskCCode), H.Assemble(32, taskC ?? (a => a.hlt()), TaskCCode));
        m.Load(a =>
        {
            a.mov(ax, H.Tss32);
            a.ltr(ax);
            taskA(a);
        });
        m.Cpu.GdtLimit = 0xFF;
        m.SetDescriptor(TssB, TssDescriptor(TssBAddress, 0x67, TypeTss32));
        m.SetDescriptor(TssC, TssDescriptor(TssCAddress, 0x67, TypeTss32));
        m.SetDescriptor(GateB, ((ulong)TssB << 16) | (0x85UL << 40));
        m.SetDescriptor(Tss16, TssDescriptor(Tss16Address, 0x2B, TypeTss16));
        m.SetDescriptor(TssSmall, TssDescriptor(TssCAddress, 0x66, TypeTss32));
        m.SetDescriptor(TssAbsent, TssDescriptor(TssCAddress, 0x67, TypeTss32, present: false));
        WriteTss32(m, TssBAddress, TaskBCode, TaskBStack, 0x0B00_0000);
        WriteTss32(m, TssCAddress, TaskCCode, TaskCStack, 0x0C00_0000);
        return m;
    }

    private static ulong TssDescriptor(uint baseAddress, uint limit, int type, bool present = true) =>
        (limit & 0xFFFF) | ((ulong)(baseAddress & 0xFF_FFFF) << 16) | ((ulong)(type | (present ? 0x80 : 0)) << 40)
        | ((ulong)((limit >> 16) & 0xF) << 48) | ((ulong)(baseAddress >> 24) << 56);

    /// <summary>A 32-bit TSS (Intel SDM Vol. 3A, Figure 8-2): EIP, EFLAGS, EAX..EDI = tag | index (ESP given), selectors.</summary>
    private static void WriteTss32(H m, uint at, uint eip, uint esp, uint tag, uint eflags = 2, ushort ds = H.FlatData, ushort ldt = 0, uint cr3 = 0, bool trap = false)
    {
        for (uint i = 0; i < 0x68; i += 4)
        {
            m.Memory.WriteDoubleWord(new PhysicalAddress(at + i), 0);
        }

        m.Memory.WriteDoubleWord(new PhysicalAddress(at + 0x1C), cr3);
        m.Memory.WriteDoubleWord(new PhysicalAddress(at + 0x20), eip);
        m.Memory.WriteDoubleWord(new PhysicalAddress(at + 0x24), eflags);
        for (uint i = 0; i < 8; i++)
        {
            m.Memory.WriteDoubleWord(new PhysicalAddress(at + 0x28 + (4 * i)), i == 4 ? esp : tag | i);
        }

        ushort[] selectors = [ds, H.FlatCode, H.FlatData, ds, ds, ds];
        for (uint s = 0; s < 6; s++)
        {
            m.Memory.WriteWord(new PhysicalAddress(at + 0x48 + (4 * s)), selectors[s]);
        }

        m.Memory.WriteWord(new PhysicalAddress(at + 0x60), ldt);
        m.Memory.WriteWord(new PhysicalAddress(at + 0x64), trap ? (ushort)1 : (ushort)0);
        m.Memory.WriteWord(new PhysicalAddress(at + 0x66), 0x68);
    }

    private static int TypeOf(H m, ushort selector) => (int)(m.Descriptor(selector) >> 40) & 0x1F;

    /// <summary>The length of task A's code up to a point (the LTR prologue included): the EIP saved or pushed there.</summary>
    private static uint AddressAfter(Action<Assembler> prefix) => H.CodeAddress + (uint)H.Assemble(32, a =>
    {
        a.mov(ax, H.Tss32);
        a.ltr(ax);
        prefix(a);
    }, H.CodeAddress).Length;

    private static uint Word(H m, uint address) => m.Memory.ReadWord(new PhysicalAddress(address));

    [Theory]
    [InlineData(1u, false)] // L0: cleared by the switch, so task B's first instruction runs
    [InlineData(2u, true)] // G0: survives, so the instruction breakpoint on it faults
    public void Task_switch_clears_the_local_breakpoint_enables(uint enables, bool expectDebugFault)
    {
        var m = Create(a =>
        {
            a.mov(eax, TaskBCode);
            a.mov(dr0, eax);
            a.mov(eax, enables);
            a.mov(dr7, eax);
            a.jmp(TssB, 0);
        });
        m.InstallGate(1);
        m.Cpu.Run(100);

        // Intel SDM Vol. 3B, 17.2.4: L0-L3 are cleared on every task switch; G0-G3 are not.
        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(enables & 0xAA, m.Cpu.GetDebugRegister(7) & 0xFF);
        Assert.Equal(expectDebugFault ? 1 : -1, m.Cpu.LastExceptionVector);
        Assert.Equal(expectDebugFault ? H.HandlerAddress(1) + 1 : TaskBCode + 1, m.Cpu.Eip);
    }

    [Fact]
    public void Jmp_to_a_tss_saves_the_old_task_loads_the_new_one_and_moves_the_busy_bit()
    {
        Action<Assembler> taskA = a =>
        {
            a.mov(eax, 0xA000_0000);
            a.mov(ecx, 0xA000_0001);
            a.mov(edi, 0xA000_0007);
            a.jmp(TssB, 0);
        };
        var m = Create(taskA, b =>
        {
            b.sldt(bx);
            b.hlt();
        });
        WriteTss32(m, TssBAddress, TaskBCode, TaskBStack, 0x0B00_0000, ldt: H.Ldt);
        m.Memory.WriteWord(new PhysicalAddress(TssAAddress + 0x60), 0x1234); // task A's LDT field: static, never written
        m.Memory.WriteDoubleWord(new PhysicalAddress(TssAAddress + 0x1C), 0xDEAD_B000); // and its CR3 field
        m.Cpu.Run(100);

        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.True(m.Cpu.IsHalted); // task B ran its SLDT and HLT

        // The new task's state (Intel SDM Vol. 3A, 8.3 step 8).
        Assert.Equal(0x0B00_0000UL, m.Reg(GeneralRegister.Rax));
        Assert.Equal(0x0B00_0002UL, m.Reg(GeneralRegister.Rdx));
        Assert.Equal((ulong)H.Ldt, m.Reg(GeneralRegister.Rbx) & 0xFFFF); // SLDT in task B: LDTR came from its TSS
        Assert.Equal((ulong)TaskBStack, m.Reg(GeneralRegister.Rsp));
        Assert.Equal(0x0B00_0007UL, m.Reg(GeneralRegister.Rdi));
        Assert.Equal(TssB, m.Cpu.TaskRegister.Selector);
        Assert.Equal(TssBAddress, (uint)m.Cpu.TaskRegister.Base);
        Assert.Equal(H.Ldt, m.Cpu.Ldtr.Selector);
        Assert.Equal(0u, m.Cpu.Flags & FlagNt); // JMP does not nest

        // The old task's dynamic fields, saved in its TSS; the static LDT and CR3 fields untouched (8.2.1).
        Assert.Equal(AddressAfter(taskA), m.Dword(TssAAddress + 0x20));
        Assert.Equal(0xA000_0000u, m.Dword(TssAAddress + 0x28));
        Assert.Equal(0xA000_0001u, m.Dword(TssAAddress + 0x2C));
        Assert.Equal(H.StackTop, m.Dword(TssAAddress + 0x38));
        Assert.Equal(0xA000_0007u, m.Dword(TssAAddress + 0x44));
        Assert.Equal((uint)H.FlatCode, Word(m, TssAAddress + 0x4C));
        Assert.Equal((uint)H.FlatData, Word(m, TssAAddress + 0x54));
        Assert.Equal(0x1234u, Word(m, TssAAddress + 0x60));
        Assert.Equal(0xDEAD_B000u, m.Dword(TssAAddress + 0x1C));

        // Busy bit moved from A to B; no back link for a JMP (Table 8-2).
        Assert.Equal(TypeTss32, TypeOf(m, H.Tss32));
        Assert.Equal(TypeTss32Busy, TypeOf(m, TssB));
        Assert.Equal(0u, Word(m, TssBAddress));
    }

    [Fact]
    public void Call_through_a_task_gate_nests_and_iret_returns_to_the_caller()
    {
        var m = Create(
            a =>
            {
                a.mov(eax, 0xA000_0000);
                a.call(GateB, 0);
                a.mov(ecx, 0x1234);
                a.hlt();
            },
            b =>
            {
                b.mov(esi, __dword_ptr[TssBAddress]); // back link
                b.pushfd();
                b.pop(edi); // EFLAGS with NT
                b.iretd();
            });
        m.Cpu.Run(100);

        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(H.Tss32, m.Cpu.TaskRegister.Selector);

        // Task A resumed after the CALL with its own registers and NT clear.
        Assert.Equal(0xA000_0000UL, m.Reg(GeneralRegister.Rax));
        Assert.Equal(0x1234UL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0u, m.Cpu.Flags & FlagNt);

        // What task B saw (saved in its TSS by the IRET task switch): back link = A, NT set by the CALL.
        Assert.Equal((uint)H.Tss32, m.Dword(TssBAddress + 0x40));
        Assert.Equal(FlagNt, m.Dword(TssBAddress + 0x44) & FlagNt);
        Assert.Equal((uint)H.Tss32, Word(m, TssBAddress));

        // IRET clears NT in the saved image of the task it leaves and marks it available; A stays busy (Table 8-2).
        Assert.Equal(0u, m.Dword(TssBAddress + 0x24) & FlagNt);
        Assert.Equal(TypeTss32, TypeOf(m, TssB));
        Assert.Equal(TypeTss32Busy, TypeOf(m, H.Tss32));
    }

    [Fact]
    public void Gp_through_an_idt_task_gate_pushes_the_error_code_on_the_handler_task_stack()
    {
        Action<Assembler> beforeFault = a => a.mov(eax, (uint)BeyondGdt);
        var m = Create(
            a =>
            {
                beforeFault(a);
                a.mov(ds, ax); // #GP(1F8h): beyond the GDT limit
                a.mov(ebx, ds);
                a.hlt();
            },
            taskC: c =>
            {
                c.mov(edx, esp);
                c.pop(esi); // the error code
                c.mov(__dword_ptr[TssAAddress + 0x28], (int)H.FlatData); // fix task A's saved EAX so the retried MOV succeeds
                c.iretd();
            });
        m.Memory.WriteQuadWord(new PhysicalAddress(H.IdtAddress + (13 * 8)), ((ulong)TssC << 16) | (0x85UL << 40));
        m.Cpu.Run(100);

        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(H.Tss32, m.Cpu.TaskRegister.Selector);

        // In task C: the error code was pushed on its stack (Intel SDM Vol. 3A, 6.12.2), back link A, NT set.
        Assert.Equal(TaskCStack - 4, m.Dword(TssCAddress + 0x30)); // EDX = ESP on entry
        Assert.Equal((uint)BeyondGdt, m.Dword(TssCAddress + 0x40)); // ESI = error code
        Assert.Equal((uint)H.Tss32, Word(m, TssCAddress));
        Assert.Equal(TypeTss32, TypeOf(m, TssC)); // freed by its IRET

        // Task A was saved at the faulting instruction and retried it after the IRET.
        Assert.Equal(AddressAfter(beforeFault), m.Dword(TssAAddress + 0x20));
        Assert.Equal((ulong)H.FlatData, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(H.FlatData, m.Cpu.GetSegment(SegmentRegister.Ds).Selector);
    }

    private sealed class OneInterrupt : IInterruptController
    {
        public bool IsInterruptPending { get; private set; } = true;

        public int Acknowledged { get; private set; }

        public byte Acknowledge()
        {
            Acknowledged++;
            IsInterruptPending = false;
            return 0x20;
        }
    }

    [Fact]
    public void External_interrupt_through_a_task_gate_runs_the_handler_task_and_iret_resumes_the_halted_task()
    {
        Action<Assembler> untilResume = a =>
        {
            a.sti();
            a.hlt();
        };
        var m = Create(
            a =>
            {
                untilResume(a);
                a.mov(ecx, 0x5678);
                a.hlt();
            },
            taskC: c => c.iretd());
        m.Memory.WriteQuadWord(new PhysicalAddress(H.IdtAddress + (0x20 * 8)), ((ulong)TssC << 16) | (0x85UL << 40));
        var pic = new OneInterrupt();
        m.Cpu.InterruptController = pic;
        m.Cpu.Run(100);

        Assert.Equal(1, pic.Acknowledged);
        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(H.Tss32, m.Cpu.TaskRegister.Selector);
        Assert.Equal(0x5678UL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0x200u, m.Cpu.Flags & 0x200); // task A's IF, restored from its TSS
        Assert.Equal(AddressAfter(untilResume), m.Dword(TssAAddress + 0x20)); // A was saved after its HLT
        Assert.Equal((uint)H.Tss32, Word(m, TssCAddress)); // back link
        Assert.Equal(TaskCCode + 1, m.Dword(TssCAddress + 0x20)); // C saved after its IRETD
        Assert.Equal(TypeTss32, TypeOf(m, TssC));
    }

    [Fact]
    public void Double_fault_through_a_task_gate_runs_the_handler_task_with_error_code_zero()
    {
        // #GP with a not-present IDT gate 13: #NP while delivering #GP, contributory twice, so #DF (Intel SDM Vol. 3A,
        // 6.15 Table 6-5), which IDT entry 8 sends to task C.
        var m = Create(a =>
        {
            a.mov(eax, (uint)BeyondGdt);
            a.mov(ds, ax);
        });
        m.Memory.WriteQuadWord(new PhysicalAddress(H.IdtAddress + (13 * 8)), 0x0000_0E00_0008_0000); // 32-bit interrupt gate, P = 0
        m.Memory.WriteQuadWord(new PhysicalAddress(H.IdtAddress + (8 * 8)), ((ulong)TssC << 16) | (0x85UL << 40));
        m.Cpu.Run(100);

        Assert.Equal(8, m.Cpu.LastExceptionVector);
        Assert.False(m.Cpu.IsShutdown);
        Assert.Equal(TssC, m.Cpu.TaskRegister.Selector);
        Assert.Equal(TaskCCode + 1, m.Cpu.Eip);
        Assert.Equal((ulong)(TaskCStack - 4), m.Reg(GeneralRegister.Rsp));
        Assert.Equal(0u, m.Dword(TaskCStack - 4));
        Assert.Equal((uint)H.Tss32, Word(m, TssCAddress));
        Assert.Equal(FlagNt, m.Cpu.Flags & FlagNt);
        Assert.Equal(TypeTss32Busy, TypeOf(m, H.Tss32));
        Assert.Equal(TypeTss32Busy, TypeOf(m, TssC));
    }

    [Fact]
    public void A_task_switch_sets_cr0_ts_so_the_next_x87_instruction_raises_nm()
    {
        var m = Create(
            a =>
            {
                a.fninit(); // TS clear: no #NM
                a.jmp(TssB, 0);
            },
            b =>
            {
                b.mov(eax, 1);
                b.fninit();
            });
        m.InstallGate(7);
        m.Cpu.Run(100);

        Assert.Equal(7, m.Cpu.LastExceptionVector);
        Assert.Equal(8UL, m.Cpu.Cr0 & 8);
        Assert.Equal(TaskBCode + 5, m.Dword(TaskBStack - 12)); // #NM at task B's FNINIT, after MOV EAX,1
    }

    [Fact]
    public void Call_to_a_16_bit_tss_loads_and_saves_the_16_bit_layout()
    {
        var m = Create(a =>
        {
            a.mov(ebx, 0xFFFF_FFFF);
            a.call(Tss16, 0);
            a.hlt();
        });

        // The 16-bit TSS (Intel SDM Vol. 3A, Figure 8-10): IP, FLAGS, AX..DI, ES, CS, SS, DS, LDT.
        uint t = Tss16Address;
        for (uint i = 0; i < 0x2C; i += 2)
        {
            m.Memory.WriteWord(new PhysicalAddress(t + i), 0);
        }

        m.Memory.WriteWord(new PhysicalAddress(t + 0x0E), (ushort)Task16Code);
        m.Memory.WriteWord(new PhysicalAddress(t + 0x10), 2);
        m.Memory.WriteWord(new PhysicalAddress(t + 0x12), 0x1100); // AX
        m.Memory.WriteWord(new PhysicalAddress(t + 0x18), 0x0023); // BX
        m.Memory.WriteWord(new PhysicalAddress(t + 0x1A), 0x0800); // SP
        m.Memory.WriteWord(new PhysicalAddress(t + 0x22), H.FlatData); // ES
        m.Memory.WriteWord(new PhysicalAddress(t + 0x24), H.Code16); // CS
        m.Memory.WriteWord(new PhysicalAddress(t + 0x26), H.Data16); // SS (base 40000h, 16-bit)
        m.Memory.WriteWord(new PhysicalAddress(t + 0x28), H.FlatData); // DS
        m.Memory.Write(new PhysicalAddress(Task16Code), H.Assemble(16, a =>
        {
            a.add(ax, bx);
            a.push(ax);
            a.pop(cx);
            a.iret();
        }, Task16Code));
        m.Cpu.Run(100);

        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(H.Tss32, m.Cpu.TaskRegister.Selector);
        Assert.Equal(0xFFFF_FFFFUL, m.Reg(GeneralRegister.Rbx)); // task A's own EBX back from its 32-bit TSS

        // The IRET saved the 16-bit task into its TSS: AX = 1100h + 23h, CX via its SS:SP stack, IP after IRET.
        Assert.Equal(0x1123u, Word(m, t + 0x12));
        Assert.Equal(0x1123u, Word(m, t + 0x14));
        Assert.Equal(0x0800u, Word(m, t + 0x1A));
        Assert.Equal(0x1123u, m.Memory.ReadWord(new PhysicalAddress(0x40000 + 0x7FE)));
        Assert.Equal(Task16Code + 5, Word(m, t + 0x0E)); // ADD AX,BX (2), PUSH AX, POP CX, IRET (1 each)
        Assert.Equal((uint)H.Code16, Word(m, t + 0x24));
        Assert.Equal((uint)H.Data16, Word(m, t + 0x26));
        Assert.Equal((uint)H.Tss32, Word(m, t)); // back link written by the CALL
        Assert.Equal(0u, Word(m, t + 0x10) & FlagNt); // NT cleared in the saved FLAGS by the IRET
        Assert.Equal(TypeTss16, TypeOf(m, Tss16));
    }

    [Fact]
    public void Jmp_to_a_busy_tss_is_gp_with_its_selector_in_the_old_task()
    {
        Action<Assembler> beforeJump = a => a.mov(eax, 5);
        var m = Create(a =>
        {
            beforeJump(a);
            a.jmp(H.Tss32, 0); // task A's own TSS: busy
        });
        m.InstallGate(13);
        m.Cpu.Run(100);

        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal((uint)H.Tss32, m.Dword(H.StackTop - 16)); // error code
        Assert.Equal(AddressAfter(beforeJump), m.Dword(H.StackTop - 12)); // the JMP
        Assert.Equal(H.Tss32, m.Cpu.TaskRegister.Selector);
        Assert.Equal(0u, m.Dword(TssAAddress + 0x28)); // nothing saved
    }

    [Fact]
    public void Tss_limit_below_67h_is_ts_with_its_selector_in_the_old_task()
    {
        Action<Assembler> beforeJump = a => a.mov(eax, 5);
        var m = Create(a =>
        {
            beforeJump(a);
            a.jmp(TssSmall, 0);
        });
        m.InstallGate(10);
        m.Cpu.Run(100);

        Assert.Equal(10, m.Cpu.LastExceptionVector);
        Assert.Equal((uint)TssSmall, m.Dword(H.StackTop - 16));
        Assert.Equal(AddressAfter(beforeJump), m.Dword(H.StackTop - 12));
        Assert.Equal(H.Tss32, m.Cpu.TaskRegister.Selector);
        Assert.Equal(TypeTss32, (int)(m.Descriptor(TssSmall) >> 40) & 0x1F); // not marked busy
        Assert.Equal(0u, m.Dword(TssAAddress + 0x28));
    }

    [Fact]
    public void Not_present_tss_is_np_with_its_selector()
    {
        var m = Create(a => a.call(TssAbsent, 0));
        m.InstallGate(11);
        m.Cpu.Run(100);

        Assert.Equal(11, m.Cpu.LastExceptionVector);
        Assert.Equal((uint)TssAbsent, m.Dword(H.StackTop - 16));
        Assert.Equal(H.Tss32, m.Cpu.TaskRegister.Selector);
    }

    [Fact]
    public void Task_gate_with_dpl_below_rpl_is_gp_with_the_gate_selector()
    {
        var m = Create(a => a.jmp(GateB | 3, 0)); // RPL 3 > gate DPL 0 (Intel SDM Vol. 3A, 8.3 step 2)
        m.InstallGate(13);
        m.Cpu.Run(100);

        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal((uint)GateB, m.Dword(H.StackTop - 16));
        Assert.Equal(H.Tss32, m.Cpu.TaskRegister.Selector);
    }

    [Fact]
    public void Bad_data_selector_in_the_new_tss_is_ts_in_the_new_task_context()
    {
        var m = Create(a => a.jmp(TssB, 0));
        m.Memory.WriteWord(new PhysicalAddress(TssBAddress + 0x54), BeyondGdt); // task B's DS
        m.InstallGate(10);
        m.Cpu.Run(100);

        Assert.Equal(10, m.Cpu.LastExceptionVector);

        // Past the commit point: TR is B, and #TS(DS selector) is delivered on task B's stack with task B's CS:EIP
        // (its first instruction), as Intel SDM Vol. 3A, 6.15 "Interrupt 10" describes.
        Assert.Equal(TssB, m.Cpu.TaskRegister.Selector);
        Assert.Equal(0x10002u, m.Dword(TaskBStack - 4)); // task B's EFLAGS, with RF as every fault pushes it (Intel SDM Vol. 3B, 17.3.1.1)
        Assert.Equal((uint)H.FlatCode, m.Dword(TaskBStack - 8));
        Assert.Equal(TaskBCode, m.Dword(TaskBStack - 12));
        Assert.Equal((uint)BeyondGdt, m.Dword(TaskBStack - 16));
        Assert.Equal(0x0B00_0000UL, m.Reg(GeneralRegister.Rax));
        Assert.Equal(TypeTss32, TypeOf(m, H.Tss32));
        Assert.Equal(TypeTss32Busy, TypeOf(m, TssB));
    }

    [Fact]
    public void Code_selector_whose_dpl_differs_from_its_rpl_is_ts_after_the_commit_point()
    {
        var m = Create(a => a.jmp(TssB, 0));
        m.Memory.WriteWord(new PhysicalAddress(TssBAddress + 0x4C), H.Code3); // DPL 3 code with RPL 0 (Table 8-1)
        m.InstallGate(10);
        m.Cpu.Run(100);

        Assert.Equal(10, m.Cpu.LastExceptionVector);
        Assert.Equal(TssB, m.Cpu.TaskRegister.Selector);
        Assert.Equal((uint)H.Code3, m.Dword(TaskBStack - 8)); // task B's CS selector, as loaded from its TSS
        Assert.Equal(TaskBCode, m.Dword(TaskBStack - 12));
        Assert.Equal((uint)H.Code3, m.Dword(TaskBStack - 16)); // #TS(CS selector)
    }

    [Fact]
    public void Ldt_selector_naming_a_non_ldt_descriptor_is_ts_after_the_commit_point()
    {
        var m = Create(a => a.jmp(TssB, 0));
        WriteTss32(m, TssBAddress, TaskBCode, TaskBStack, 0x0B00_0000, ldt: H.FlatData);

        // The LDT is qualified before any segment register, so none is usable yet: the #TS handler must be a task, as
        // Intel SDM Vol. 3A, 6.15 "Interrupt 10" recommends.
        m.Memory.WriteQuadWord(new PhysicalAddress(H.IdtAddress + (10 * 8)), ((ulong)TssC << 16) | (0x85UL << 40));
        m.Cpu.Run(100);

        Assert.Equal(10, m.Cpu.LastExceptionVector);
        Assert.Equal(TssC, m.Cpu.TaskRegister.Selector);
        Assert.Equal(TaskCCode + 1, m.Cpu.Eip);
        Assert.Equal((uint)H.FlatData, m.Dword(TaskCStack - 4)); // #TS(LDT selector)
        Assert.Equal((uint)TssB, Word(m, TssCAddress)); // nested from task B: the fault belonged to the new task
        Assert.Equal(TaskBCode, m.Dword(TssBAddress + 0x20)); // task B saved at its first instruction
        Assert.Equal(TypeTss32, TypeOf(m, H.Tss32));
        Assert.Equal(TypeTss32Busy, TypeOf(m, TssB));
    }

    [Fact]
    public void Iret_with_nt_to_an_available_tss_is_ts_with_the_back_link()
    {
        var m = Create(a =>
        {
            a.pushfd();
            a.or(__dword_ptr[esp], (int)FlagNt);
            a.popfd();
            a.iretd();
        });
        m.Memory.WriteWord(new PhysicalAddress(TssAAddress), TssB); // back link to an available TSS
        m.InstallGate(10);
        m.Cpu.Run(100);

        Assert.Equal(10, m.Cpu.LastExceptionVector);
        Assert.Equal((uint)TssB, m.Dword(H.StackTop - 16));
        Assert.Equal(H.Tss32, m.Cpu.TaskRegister.Selector);
    }

    [Fact]
    public void T_bit_in_the_new_tss_raises_a_debug_trap_with_dr6_bt_before_its_first_instruction()
    {
        var m = Create(a => a.jmp(TssB, 0));
        WriteTss32(m, TssBAddress, TaskBCode, TaskBStack, 0x0B00_0000, trap: true);
        m.InstallGate(1);
        m.Cpu.Run(100);

        Assert.Equal(1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x8000u, m.Cpu.GetDebugRegister(6) & 0x8000); // DR6.BT (Intel SDM Vol. 3B, 17.2.3)
        Assert.Equal(TssB, m.Cpu.TaskRegister.Selector);
        Assert.Equal(TaskBCode, m.Dword(TaskBStack - 12)); // return EIP: task B's first instruction, not yet run
        Assert.Equal(0x0B00_0000UL, m.Reg(GeneralRegister.Rax));
    }

    [Fact]
    public void T_bit_debug_trap_through_a_task_gate_to_a_tss_with_the_t_bit_is_taken_at_the_next_boundary()
    {
        // JMP to B (T bit) -> #DB through a task gate to C (T bit) -> #DB through the same gate to C, now busy: #GP(C).
        // The T-bit trap used to be delivered from inside the task switch, nesting deliveries; now each waits for the run
        // loop at the instruction boundary, and the chain ends in #GP as the SDM's checks say.
        var m = Create(a => a.jmp(TssB, 0));
        WriteTss32(m, TssBAddress, TaskBCode, TaskBStack, 0x0B00_0000, trap: true);
        WriteTss32(m, TssCAddress, TaskCCode, TaskCStack, 0x0C00_0000, trap: true);
        m.Memory.WriteQuadWord(new PhysicalAddress(H.IdtAddress + 8), ((ulong)TssC << 16) | (0x85UL << 40)); // vector 1: task gate to C
        m.InstallGate(13);
        Assert.Equal(StopReason.Halted, m.Cpu.Run(100));

        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0x8000u, m.Cpu.GetDebugRegister(6) & 0x8000);
        Assert.Equal(TssC, m.Cpu.TaskRegister.Selector);
        Assert.Equal(TypeTss32Busy, TypeOf(m, TssB)); // B was interrupted by the #DB task switch: still busy, C links back to it
        Assert.Equal((uint)TssB, Word(m, TssCAddress));
        Assert.Equal((uint)TssC, m.Dword(TaskCStack - 16) & 0xFFFC); // #GP's error code names C
        Assert.Equal(TaskCCode, m.Dword(TaskCStack - 12)); // task C's first instruction never ran
        Assert.Equal(0x0C00_0000UL, m.Reg(GeneralRegister.Rax));
    }

    [Fact]
    public void Jmp_under_paging_loads_cr3_from_the_new_tss()
    {
        // Page directory 1 at 50000h maps 0-4 MiB with a 4 MiB page; directory 2 at 51000h also maps 4-8 MiB to 0.
        const uint directory1 = 0x50000;
        const uint directory2 = 0x51000;
        var m = Create(
            a =>
            {
                a.mov(eax, 0x10);
                a.mov(cr4, eax); // CR4.PSE
                a.mov(eax, directory1);
                a.mov(cr3, eax);
                a.mov(eax, cr0);
                a.or(eax, unchecked((int)0x8000_0000));
                a.mov(cr0, eax);
                a.jmp(TssB, 0);
            },
            b =>
            {
                b.mov(eax, __dword_ptr[0x40_7000]);
                b.hlt();
            });
        for (uint i = 0; i < 0x1000; i += 4)
        {
            m.Memory.WriteDoubleWord(new PhysicalAddress(directory1 + i), 0);
            m.Memory.WriteDoubleWord(new PhysicalAddress(directory2 + i), 0);
        }

        m.Memory.WriteDoubleWord(new PhysicalAddress(directory1), 0x83);
        m.Memory.WriteDoubleWord(new PhysicalAddress(directory2), 0x83);
        m.Memory.WriteDoubleWord(new PhysicalAddress(directory2 + 4), 0x83);
        m.Memory.WriteDoubleWord(new PhysicalAddress(0x7000), 0xC0FF_EE11);
        WriteTss32(m, TssBAddress, TaskBCode, TaskBStack, 0x0B00_0000, cr3: directory2);
        m.Cpu.Run(100);

        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal((ulong)directory2, m.Cpu.Cr3);
        Assert.Equal(0xC0FF_EE11UL, m.Reg(GeneralRegister.Rax));
        Assert.True(m.Cpu.IsHalted);
    }

    [Fact]
    public void Cr3_in_the_new_tss_is_not_loaded_without_paging()
    {
        var m = Create(a => a.jmp(TssB, 0));
        WriteTss32(m, TssBAddress, TaskBCode, TaskBStack, 0x0B00_0000, cr3: 0x51000);
        m.Cpu.Run(100);

        Assert.Equal(TssB, m.Cpu.TaskRegister.Selector);
        Assert.Equal(0UL, m.Cpu.Cr3); // Intel SDM Vol. 3A, 8.3 step 8
    }

    [Fact]
    public void Switch_to_a_virtual_8086_task_loads_real_mode_style_segments_at_cpl_3()
    {
        var m = Create(a => a.jmp(TssB, 0));
        WriteTss32(m, TssBAddress, 0x0100, 0x0FFE, 0x0B00_0000, eflags: 0x0002_0002);
        ushort[] selectors = [0x2000, 0x1000, 0x3000, 0x4000, 0x5000, 0x6000];
        for (uint s = 0; s < 6; s++)
        {
            m.Memory.WriteWord(new PhysicalAddress(TssBAddress + 0x48 + (4 * s)), selectors[s]);
        }

        m.Cpu.Run(3); // MOV AX, LTR, JMP: stop before running virtual-8086 code

        Assert.Equal(TssB, m.Cpu.TaskRegister.Selector);
        Assert.Equal(3, m.Cpu.Cpl);
        Assert.Equal(1u << 17, m.Cpu.Flags & (1u << 17));
        Assert.Equal(0x0100u, m.Cpu.Eip);
        for (int s = 0; s < 6; s++)
        {
            SegmentState state = m.Cpu.GetSegment((SegmentRegister)s);
            Assert.Equal(selectors[s], state.Selector);
            Assert.Equal((ulong)selectors[s] << 4, state.Base);
            Assert.Equal(0xFFFFu, state.Limit);
            Assert.Equal(0x60, state.Attributes & 0x60); // DPL 3
            Assert.Equal(0, state.Attributes & SegmentState.DefaultBigBit);
        }
    }
}
