using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Differential kernel 2: hardware task switching (Intel SDM Vol. 3A, chapter 8): JMP and CALL to a TSS, IRET back
/// through the back link, task gates in the IDT for #GP and #DF, the busy bits in the GDT, EFLAGS.NT, the back-link field
/// in TSS memory, CR0.TS, #TS for a too-small TSS and #GP for a busy one.
/// </summary>
internal static class TaskSwitchKernel
{
    private const ushort TaskA = 0x30;
    private const ushort TaskB = 0x38;
    private const ushort SmallTss = 0x40;
    private const ushort NotPresentCode = 0x48;
    private const ushort TaskC = 0x50;
    private const ushort TaskD = 0x58;
    private const uint TssD = 0x147000;

    public static byte[] Build() => DiffKernel.Build(k =>
    {
        Assembler a = k.A;
        k.SetGdt(TaskA / 8, DiffKernel.TssDescriptor(DiffKernel.TssA));
        k.SetGdt(TaskB / 8, DiffKernel.TssDescriptor(DiffKernel.TssB));
        k.SetGdt(SmallTss / 8, DiffKernel.TssDescriptor(DiffKernel.TssC, 0x50));
        k.SetGdt(NotPresentCode / 8, DiffKernel.Seg(0, 0xFFFFF, 0x1A, 0xC));
        k.SetGdt(TaskC / 8, DiffKernel.TssDescriptor(DiffKernel.TssC));
        k.WriteTss(DiffKernel.TssA, k.Addr("taskA"), DiffKernel.TaskStackTop);
        k.WriteTss(DiffKernel.TssB, k.Addr("taskB"), DiffKernel.TaskStackTop - 0x1000);
        k.WriteTss(DiffKernel.TssC, k.Addr("taskC"), DiffKernel.TaskStackTop - 0x2000);
        k.SetGdt(TaskD / 8, DiffKernel.TssDescriptor(TssD));
        k.WriteTss(TssD, k.Addr("taskD"), DiffKernel.TaskStackTop - 0x3000);
        k.Poke32(TssD + 0x54, 0x1008); // DS beyond the GDT limit

        // Prints TR, EFLAGS (NT is bit 14), CR0.TS and the type dwords of the four TSS descriptors (busy = type Bh).
        void State()
        {
            a.str(ax);
            a.movzx(eax, ax);
            k.P(eax);
            a.pushfd();
            a.pop(eax);
            k.P(eax);
            a.mov(eax, cr0);
            a.and(eax, 8);
            k.P(eax);
            foreach (ushort s in new[] { DiffKernel.Tss0Selector, TaskA, TaskB, TaskC })
            {
                k.PM(DiffKernel.Gdt + s + 4);
            }
        }

        void Links()
        {
            k.PM(DiffKernel.Tss0);
            k.PM(DiffKernel.TssA);
            k.PM(DiffKernel.TssB);
            k.PM(DiffKernel.TssC);
        }

        // JMP to a TSS: the old task's busy bit is cleared, NT is not set, no back link is written (SDM 8.3, Table 8-2).
        k.Str("T01\n");
        a.jmp(TaskA, 0);
        k.Str("T02 ");
        State();
        Links();
        k.Str("\n");
        a.clts();

        // CALL to a TSS: NT set in the new task, back link = caller, both busy; IRET returns through the link.
        k.Str("T03\n");
        a.mov(eax, 0x1234_5678);
        a.call(TaskA, 0);
        k.Str("T04 ");
        k.P(eax);
        State();
        Links();
        k.Str("\n");
        a.clts();

        // A task gate for #GP: the exception switches to task B, which receives the error code on its stack, repairs the
        // faulting MOV's source register in the main TSS and returns with IRET, so the MOV is restarted successfully.
        a.mov(eax, __dword_ptr[DiffKernel.Idt + (13 * 8)]);
        a.mov(__dword_ptr[DiffKernel.Scratch], eax);
        a.mov(eax, __dword_ptr[DiffKernel.Idt + (13 * 8) + 4]);
        a.mov(__dword_ptr[DiffKernel.Scratch + 4], eax);
        a.mov(__dword_ptr[DiffKernel.Idt + (13 * 8)], (uint)TaskB << 16);
        a.mov(__dword_ptr[DiffKernel.Idt + (13 * 8) + 4], 0x8500);
        k.Str("T05\n");
        a.mov(eax, 0x1008);
        a.mov(ds, ax);
        k.Str("T06 ");
        k.P(eax);
        State();
        Links();
        k.Str("\n");
        a.clts();
        a.mov(eax, __dword_ptr[DiffKernel.Scratch]);
        a.mov(__dword_ptr[DiffKernel.Idt + (13 * 8)], eax);
        a.mov(eax, __dword_ptr[DiffKernel.Scratch + 4]);
        a.mov(__dword_ptr[DiffKernel.Idt + (13 * 8) + 4], eax);

        // #TS for a TSS whose limit is below 67h, #GP for a JMP to the (busy) running task, #TS for IRET with NT set and
        // a null back link.
        k.Expect("T07", () => a.jmp(SmallTss, 0));
        k.Expect("T08", () => a.jmp(DiffKernel.Tss0Selector, 0));
        k.Expect("T09", () => a.call(TaskB | 0, 0)); // task B is not busy but its... CALL works, handled in task B
        k.Expect("T10", () =>
        {
            a.pushfd();
            a.or(__dword_ptr[esp], 0x4000);
            a.popfd();
            a.iretd();
        });

        // #DF through a task gate: #GP's gate names a not-present code segment, so delivering #GP raises #NP (#DF).
        a.mov(__dword_ptr[DiffKernel.Idt + (8 * 8)], (uint)TaskC << 16);
        a.mov(__dword_ptr[DiffKernel.Idt + (8 * 8) + 4], 0x8500);
        a.mov(__word_ptr[DiffKernel.Idt + (13 * 8) + 2], NotPresentCode);
        k.Str("T11\n");
        a.mov(eax, 0x1010);
        a.mov(ds, ax);
        k.Str("T12 ");
        k.P(eax);
        State();
        Links();
        k.Str("\n");
        a.clts();
        // A bad DS selector in the new TSS: #TS(selector) raised after the commit point, in the new task's context
        // (SDM Vol. 3A, 8.3, task-switch steps 13 and 14): TR is the new task, the old one is not busy.
        k.Str("T12E ");
        k.PI(k.Addr("taskD"));
        k.Str("\nT13 ");
        string resume = k.Try();
        a.jmp(TaskD, 0);
        k.Str("NF ");
        k.Mark(resume);
        k.Str("T14 ");
        State();
        k.PM(TssD + 0x54);
        k.Str("\n");
        a.str(ax);
        a.cmp(ax, TaskD);
        a.jne(k.L("notInD"));
        a.jmp(DiffKernel.Tss0Selector, 0);
        k.Mark("notInD");
        a.clts();
        a.jmp(k.L("done"));

        k.Mark("taskD");
        k.Str("D1\n");
        a.jmp(DiffKernel.Tss0Selector, 0);

        // Task A: entered by JMP first, then by CALL.
        k.Mark("taskA");
        k.Str("A1 ");
        State();
        k.Str("\n");
        a.jmp(DiffKernel.Tss0Selector, 0);
        k.Str("A2 ");
        k.P(eax);
        State();
        Links();
        k.Str("\n");
        a.iretd();
        k.Str("A3 ");
        State();
        k.Str("\n");
        a.iretd();

        // Task B: the #GP task (error code on the stack), then CALLed by T09.
        k.Mark("taskB");
        k.Str("B1 ");
        a.pop(eax);
        k.P(eax);
        a.mov(eax, esp);
        k.P(eax);
        State();
        Links();
        k.Str("\n");
        a.mov(__dword_ptr[DiffKernel.Tss0 + 0x28], (uint)DiffKernel.Data0); // the restarted MOV DS,AX loads 10h
        a.iretd();
        k.Str("B2 ");
        State();
        Links();
        k.Str("\n");
        a.iretd();

        // Task C: the #DF task. The error code is 0 (SDM 6.15, Interrupt 8); restores #GP's gate and the MOV's source.
        k.Mark("taskC");
        k.Str("C1 ");
        a.pop(eax);
        k.P(eax);
        a.mov(eax, esp);
        k.P(eax);
        State();
        Links();
        k.Str("\n");
        a.mov(__word_ptr[DiffKernel.Idt + (13 * 8) + 2], DiffKernel.Code0);
        a.mov(__dword_ptr[DiffKernel.Tss0 + 0x28], (uint)DiffKernel.Data0);
        a.iretd();

        k.Mark("done");
    });
}
