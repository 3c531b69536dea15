using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Differential kernel 8: 64-bit mode control transfers. Interrupt frames (16-byte alignment, SS:RSP always pushed,
/// RSP0 and IST stacks from the 64-bit TSS), IRETQ to the same level and to ring 3, compatibility-mode transitions (far
/// CALL/JMP through m16:32 pointers, far RET, IRETD and INT n out of a 32-bit segment, IRETQ and SYSRET into one),
/// SYSCALL/SYSRET with STAR/LSTAR/SFMASK, canonical-address faults (#GP for data and branches, #SS for the stack) and INT n
/// through gates that fail their checks. 64-bit call gates and m16:64 far pointers are not used here.
/// </summary>
internal static class LongModeKernel
{
    private const uint Scratch = DiffKernel64.Scratch;
    private const uint Pointers = Scratch + 0x40;   // m16:32 far pointers, 8 bytes apart
    private const ulong NonCanonical = 0x0000_8000_0000_0000UL;
    private const ushort ZeroDescriptor = 0x50;
    private const uint SyscallMask = 0x4700;        // TF, IF, DF, NT

    public static byte[] Build() => DiffKernel64.Build(k =>
    {
        Assembler a = k.A;
        const uint blob = DiffKernel64.Blob;

        // Compatibility-mode snippets (32-bit code segments 1Bh at ring 3 and 40h at ring 0).
        k.Code32(blob + 0x000, s => { s.mov(eax, esp); s.@int(0x41); });                 // ring 3: report the frame
        k.Code32(blob + 0x100, s =>
        {
            s.mov(__dword_ptr[Scratch], esp);
            s.mov(ax, cs);
            s.mov(__word_ptr[Scratch + 4], ax);
            s.mov(eax, __dword_ptr[esp]);
            s.mov(__dword_ptr[Scratch + 8], eax);
            s.mov(eax, __dword_ptr[esp + 4]);
            s.mov(__dword_ptr[Scratch + 12], eax);
            s.retf();                                                                      // m16:32 frame back to CS 08h
        });
        k.Code32(blob + 0x200, s =>
        {
            s.mov(__dword_ptr[Scratch + 16], esp);
            s.jmp(DiffKernel64.Code0, k.Addr("farJumpBack"));
        });
        k.Code32(blob + 0x300, s => { s.sub(esp, 4); s.mov(eax, esp); s.@int(0x41); });  // misaligned stack
        k.Code32(blob + 0x400, s => { s.mov(ax, ZeroDescriptor); s.mov(ds, ax); });     // #GP(50h) in compat mode
        k.Code32(blob + 0x500, s =>
        {
            s.mov(eax, esp);
            s.push(ss);
            s.push(eax);
            s.pushfd();
            s.push(DiffKernel64.Code0);
            s.push(k.Addr("iretdBack"));
            s.iretd();                                                                     // IA-32e: pops SS:ESP too
        });
        k.Code32(blob + 0x600, s => s.syscall());                                          // SYSCALL in compat mode
        k.Code32(blob + 0x700, s =>
        {
            // Through SS: DS was nulled by the IRETQ that entered ring 3 (its DPL 0 < CPL 3; SDM Vol. 2A IRET), and a null
            // DS faults in compatibility mode. QEMU's TCG does not fault on it; the SDM's #GP(0) is what Virt gives.
            s.mov(__dword_ptr.ss[Scratch + 0x20], esp);
            s.mov(ax, cs);
            s.mov(__word_ptr.ss[Scratch + 0x24], ax);
            s.retf();
        });
        k.Poke32(Pointers + 40, blob + 0x700);
        k.Poke16(Pointers + 44, DiffKernel64.Code3Compat);
        k.Poke32(Pointers + 0, blob + 0x100);
        k.Poke16(Pointers + 4, DiffKernel64.Code0Compat);
        k.Poke32(Pointers + 8, blob + 0x200);
        k.Poke16(Pointers + 12, DiffKernel64.Code0Compat);
        k.Poke32(Pointers + 16, blob + 0x300);
        k.Poke16(Pointers + 20, DiffKernel64.Code0Compat);
        k.Poke32(Pointers + 24, blob + 0x400);
        k.Poke16(Pointers + 28, DiffKernel64.Code0Compat);
        k.Poke32(Pointers + 32, blob + 0x500);
        k.Poke16(Pointers + 36, DiffKernel64.Code0Compat);

        // Gates: #DE and #SS on IST2, 42h on IST1 (DPL 0), 43h probes SS after a ring change, 44h not present, 45h a
        // 16-bit interrupt gate (invalid in IA-32e mode), 46h names a 32-bit code segment, 47h DPL 3 on IST1.
        (ulong lo, ulong hi) = DiffKernel64.Gate64(DiffKernel64.Code0, k.Stub(0), 0x8E, ist: 2);
        k.SetIdt(0, lo, hi);
        (lo, hi) = DiffKernel64.Gate64(DiffKernel64.Code0, k.Stub(12), 0x8E, ist: 2);
        k.SetIdt(12, lo, hi);
        (lo, hi) = DiffKernel64.Gate64(DiffKernel64.Code0, k.Stub(0x42), 0x8E, ist: 1);
        k.SetIdt(0x42, lo, hi);
        (lo, hi) = DiffKernel64.Gate64(DiffKernel64.Code0, k.Addr("ssProbe"), 0xEE);
        k.SetIdt(0x43, lo, hi);
        (lo, hi) = DiffKernel64.Gate64(DiffKernel64.Code0, k.Stub(0x44), 0x6E);
        k.SetIdt(0x44, lo, hi);
        (lo, hi) = DiffKernel64.Gate64(DiffKernel64.Code0, k.Stub(0x45), 0xE6);
        k.SetIdt(0x45, lo, hi);
        (lo, hi) = DiffKernel64.Gate64(DiffKernel64.Code0Compat, k.Stub(0x46), 0xEE);
        k.SetIdt(0x46, lo, hi);
        (lo, hi) = DiffKernel64.Gate64(DiffKernel64.Code0, k.Stub(0x47), 0xEE, ist: 1);
        k.SetIdt(0x47, lo, hi);

        void PrintSelectors()
        {
            a.mov(ax, cs);
            a.movzx(eax, ax);
            k.P32(rax);
            a.mov(ax, ss);
            a.movzx(eax, ax);
            k.P32(rax);
        }

        // Interrupt frames (SDM Vol. 3A, 7.14.2): RSP is aligned to 16 before the push, SS:RSP always pushed; IST
        // (7.14.5) and RSP0 (7.14.4) select the stack.
        k.Expect("M01", () => a.@int(0x41));
        k.Expect("M02", () => { a.sub(rsp, 8); a.@int(0x41); });
        k.Expect("M03", () => { a.sub(rsp, 0x28); a.@int(0x42); });
        k.ExpectRing3("M04", () => a.@int(0x47));
        k.ExpectRing3("M05", () => { a.xor(ecx, ecx); a.div(ecx); });
        k.ExpectRing3("M06", () => { a.sub(rsp, 4); a.@int(0x43); });

        // IRETQ (SDM Vol. 2A, IRET): to the same level with a new SS:RSP and RFLAGS; to ring 3 with a non-canonical RIP
        // (#GP(0)); with SS.RPL != CS.RPL (#GP(SS)).
        k.Expect("M07", () =>
        {
            a.mov(rbx, rsp);
            a.push(DiffKernel64.Data0);
            a.push((int)(DiffKernel64.Stack0Top - 0x808));
            a.push(0x40CD7);
            a.push(DiffKernel64.Code0);
            a.push((int)k.Addr("afterIretq"));
            a.iretq();
            k.Mark("afterIretq");
            a.pushfq();
            a.pop(rax);
            k.P32(rax);
            a.mov(rax, rsp);
            k.P(rax);
            PrintSelectors();
            a.push(2);
            a.popfq();
            a.mov(rsp, rbx);
        });
        k.Expect("M08", () =>
        {
            a.push(DiffKernel64.Data3);
            a.push((int)DiffKernel64.Ring3StackTop);
            a.push(0x3002);
            a.push(DiffKernel64.Code3);
            a.mov(rax, NonCanonical);
            a.push(rax);
            a.iretq();
        });
        k.Expect("M09", () =>
        {
            a.push(DiffKernel64.Data3 & ~3);
            a.push((int)DiffKernel64.Ring3StackTop);
            a.push(0x3002);
            a.push(DiffKernel64.Code3);
            a.push((int)k.Addr("afterIretq"));
            a.iretq();
        });

        // Compatibility mode (SDM Vol. 3A, 5.8.3.1 / Vol. 2A CALL, JMP, RET, IRET): IRETQ into a 32-bit ring-3 segment,
        // far CALL m16:32 into a 32-bit ring-0 segment and far RET out, far JMP in and a JMP ptr16:32 out, INT n with a
        // misaligned ESP, a #GP raised there, IRETD back to 64-bit mode.
        k.Expect("M10", () =>
        {
            a.push(DiffKernel64.Data3);
            a.push((int)(DiffKernel64.Ring3StackTop - 0x104));
            a.push(0x3002);
            a.push(DiffKernel64.Code3Compat);
            a.push((int)blob);
            a.iretq();
        });
        k.Expect("M11", () =>
        {
            a.mov(rbx, rsp);
            a.call(__fword_ptr[Pointers + 0]);
            a.mov(rax, rsp);
            k.P(rax);
            k.PM32(__qword_ptr[Scratch]);
            k.PM32(__qword_ptr[Scratch + 4]);
            k.PM32(__qword_ptr[Scratch + 8]);
            k.PM32(__qword_ptr[Scratch + 12]);
            a.mov(rsp, rbx);
        });
        k.Expect("M12", () =>
        {
            a.jmp(__fword_ptr[Pointers + 8]);
            k.Mark("farJumpBack");
            k.PM32(__qword_ptr[Scratch + 16]);
            PrintSelectors();
        });
        k.Expect("M13", () => a.jmp(__fword_ptr[Pointers + 16]));
        k.Expect("M14", () => a.jmp(__fword_ptr[Pointers + 24]));
        k.Expect("M15", () =>
        {
            a.mov(rbx, rsp);
            a.jmp(__fword_ptr[Pointers + 32]);
            k.Mark("iretdBack");
            a.mov(rax, rsp);
            k.P(rax);
            a.cmp(rax, rbx);
            a.sete(al);
            k.P32(rax);
            PrintSelectors();
        });

        // SYSCALL/SYSRET (SDM Vol. 2B): STAR[47:32] = 08h (SS 10h), STAR[63:48] = 1Bh (SYSRET: CS 2Bh or 1Bh, SS 23h);
        // RCX = next RIP, R11 = RFLAGS, RFLAGS &= ~SFMASK; RSP is not changed.
        a.mov(ecx, 0xC0000080);
        a.rdmsr();
        a.or(eax, 1); // SCE
        a.wrmsr();
        a.mov(ecx, 0xC0000081); // STAR
        a.xor(eax, eax);
        a.mov(edx, (DiffKernel64.Code3Compat << 16) | DiffKernel64.Code0);
        a.wrmsr();
        a.mov(ecx, 0xC0000082); // LSTAR
        a.mov(eax, k.Addr("syscallTarget"));
        a.xor(edx, edx);
        a.wrmsr();
        a.mov(ecx, 0xC0000083); // CSTAR (not used by an Intel CPU; see M20)
        a.mov(eax, k.Addr("cstarTarget"));
        a.wrmsr();
        a.mov(ecx, 0xC0000084); // SFMASK
        a.mov(eax, SyscallMask);
        a.wrmsr();
        k.ExpectRing3("M16", () =>
        {
            a.mov(r11, -1);
            a.syscall();
            k.Str("back ");
            a.pushfq();
            a.pop(rax);
            k.P32(rax);
            a.mov(rax, rsp);
            k.P(rax);
            PrintSelectors();
        }, rflags: 0x3602);
        k.Expect("M17", () =>
        {
            a.mov(ecx, blob);
            a.mov(r11d, 0x3002);
            a.db(0x0F, 0x07); // SYSRET without REX.W: to the 32-bit ring-3 segment
        });
        k.Expect("M18", () =>
        {
            a.mov(rcx, NonCanonical);
            a.mov(r11d, 0x3002);
            a.sysretq(); // non-canonical RCX: #GP(0) at CPL 0
        });
        k.ExpectRing3("M19", () => a.sysretq());
        k.Expect("M20", () =>
        {
            a.push(DiffKernel64.Data3);
            a.push((int)(DiffKernel64.Ring3StackTop - 0x104));
            a.push(0x3002);
            a.push(DiffKernel64.Code3Compat);
            a.push((int)(blob + 0x600));
            a.iretq();
        });

        // Canonical addresses (SDM Vol. 3A, 3.3.7.1 and 6.15): data #GP(0), through RSP/RBP #SS(0), a non-canonical
        // branch target #GP(0) on the branch.
        k.Expect("M21", () => { a.mov(rbx, NonCanonical); a.mov(rax, __qword_ptr[rbx]); });
        k.Expect("M22", () => { a.mov(rbp, NonCanonical + 0x10); a.mov(rax, __qword_ptr[rbp]); });
        a.mov(__byte_ptr[DiffKernel64.Idt + (13 * 16) + 4], 2); // #GP on IST2 too: a CPU reporting #GP here must not push onto RSP
        k.Expect("M23", () => { a.mov(rsp, NonCanonical + 0x10); a.push(rax); });
        a.mov(__byte_ptr[DiffKernel64.Idt + (13 * 16) + 4], 0);
        k.Expect("M24", () => { a.mov(rbx, NonCanonical); a.jmp(rbx); });
        k.Expect("M25", () => { a.mov(rbx, 0xFFFF_7FFF_FFFF_F000UL); a.call(rbx); });
        k.Expect("M26", () => { a.mov(rbx, NonCanonical); a.push(rbx); a.ret(); });

        // INT n from ring 3 (SDM Vol. 3A, 7.12.1.1 and 7.14.1): DPL 0 gate #GP(vec*8+2), INT3, INTO (#UD in 64-bit mode),
        // a not-present gate #NP, a 16-bit gate type and a gate naming a 32-bit code segment (#GP).
        k.ExpectRing3("M27", () => a.@int(0x0D));
        k.ExpectRing3("M28", () => a.int3());
        k.ExpectRing3("M29", () => a.db(0xCE));
        k.ExpectRing3("M30", () => a.@int(0x44));
        k.ExpectRing3("M31", () => a.@int(0x45));
        k.ExpectRing3("M32", () => a.@int(0x46));

        // SYSRET loads RFLAGS from R11 AND 3C7FD7h, bit 1 set (SDM Vol. 2B, SYSRET): RF, VM and the reserved bits clear.
        k.Expect("M34", () =>
        {
            a.mov(ecx, k.Addr("afterSysret"));
            a.mov(r11, unchecked((long)0xFFFF_FFFF_FFFF_FEFFUL)); // all but TF
            a.sysretq();
            k.Mark("afterSysret");
            a.pushfq();
            a.pop(rax);
            a.push(0x3002);
            a.popfq(); // NT and AC off again before printing
            k.P(rax);
            PrintSelectors();
            a.@int(DiffKernel64.SoftVectorBase);
        });
        a.xor(eax, eax); // a CPU that faulted above left something else in RAX

        // The new stack is aligned to 16 after a privilege change and on an IST stack too (SDM Vol. 3A, 7.14.2), even
        // when RSP0 or the IST entry is not.
        a.sub(__qword_ptr[DiffKernel64.Tss + 0x04], 8);
        a.sub(__qword_ptr[DiffKernel64.Tss + 0x24], 8);
        k.ExpectRing3("M35", () => a.@int(0x41));
        k.ExpectRing3("M36", () => a.@int(0x47));
        a.add(__qword_ptr[DiffKernel64.Tss + 0x04], 8);
        a.add(__qword_ptr[DiffKernel64.Tss + 0x24], 8);

        // Far CALL m16:32 from 64-bit ring 3 into the 32-bit ring-3 segment and far RET back.
        k.ExpectRing3("M37", () =>
        {
            a.mov(rbx, rsp);
            a.call(__fword_ptr[Pointers + 40]);
            a.mov(rax, rsp);
            k.P(rax);
            a.cmp(rax, rbx);
            a.sete(al);
            k.P32(rax);
            k.PM32(__qword_ptr[Scratch + 0x20]);
            k.PM32(__qword_ptr[Scratch + 0x24]);
            PrintSelectors();
        });

        // IRETQ from 64-bit ring 0 into the 32-bit ring-0 segment (SS:RSP popped too in IA-32e mode).
        k.Expect("M38", () =>
        {
            a.push(DiffKernel64.Data0);
            a.push((int)(DiffKernel64.Stack0Top - 0x204));
            a.push(0x0002);
            a.push(DiffKernel64.Code0Compat);
            a.push((int)(blob + 0x300));
            a.iretq();
        });

        // A #PF while pushing the frame of INT 40h from ring 3 onto RSP0 (not present): delivered with the ring-3 state
        // (SDM Vol. 3A, 7.14.4; error code W, supervisor: an implicit supervisor-mode access, 4.6), here on IST1.
        (lo, hi) = DiffKernel64.Gate64(DiffKernel64.Code0, k.Stub(14), 0x8E, ist: 1);
        a.mov(rax, (long)lo);
        a.mov(__qword_ptr[DiffKernel64.Idt + (14 * 16)], rax);
        a.mov(__qword_ptr[DiffKernel64.Pd0 + (3 * 8)], 0);
        a.invlpg(__[0x600000]);
        a.mov(__qword_ptr[DiffKernel64.Tss + 0x04], 0x601000);
        k.ExpectRing3("M39", () => a.@int(0x40));
        a.mov(__qword_ptr[DiffKernel64.Tss + 0x04], (int)DiffKernel64.Stack0Top);
        a.mov(__qword_ptr[DiffKernel64.Pd0 + (3 * 8)], 0x600000 | 0x87);
        a.xor(eax, eax);

        // With EFER.SCE clear, SYSCALL is #UD.
        a.mov(ecx, 0xC0000080);
        a.rdmsr();
        a.and(eax, ~1);
        a.wrmsr();
        k.ExpectRing3("M33", () => a.syscall());
        a.jmp(k.L("done"));

        // Entered from ring 3 through a DPL-3 gate: SS is the null selector (SDM Vol. 3A, 7.14.4); then the usual report.
        k.Mark("ssProbe");
        k.Str("SS ");
        a.mov(ax, ss);
        a.movzx(eax, ax);
        k.P32(rax);
        a.jmp(k.Stub(0x43));

        k.Mark("syscallTarget");
        k.Str("sc ");
        k.P(rcx);
        k.P(r11);
        a.pushfq();
        a.pop(rax);
        k.P32(rax);
        a.mov(rax, rsp);
        k.P(rax);
        PrintSelectors();
        a.sysretq();

        // SYSCALL from compatibility mode on a CPU that takes it through CSTAR: say so, then report through INT 41h.
        k.Mark("cstarTarget");
        k.Str("cstar ");
        a.mov(rsp, DiffKernel64.Stack0Top - 0x400);
        a.@int(0x41);

        k.Mark("done");
    });
}
