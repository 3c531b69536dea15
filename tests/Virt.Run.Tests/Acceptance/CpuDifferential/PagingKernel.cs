using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Differential kernel 1: 32-bit paging (4 KiB and 4 MiB pages, accessed/dirty bits, #PF error codes and CR2 for
/// not-present, write-protect and user accesses, CR0.WP, INVLPG) and PAE paging (2 MiB pages, NX fetch faults with the
/// I/D bit, reserved-bit faults with RSVD).
/// </summary>
internal static class PagingKernel
{
    private const uint Pd = DiffKernel.PageArea;
    private const uint Pt = DiffKernel.PageArea + 0x1000;
    private const uint Pt2 = DiffKernel.PageArea + 0x2000;
    private const uint Pdpt = DiffKernel.PageArea + 0x3000;
    private const uint Pt3 = DiffKernel.PageArea + 0x6000;
    private const uint PaePd = DiffKernel.PageArea + 0x4000;
    private const uint PaePt = DiffKernel.PageArea + 0x5000;
    private const uint MarkerA = 0x1F0000;
    private const uint MarkerB = 0x1F1000;

    public static byte[] Build() => DiffKernel.Build(k =>
    {
        var a = k.A;

        // 32-bit paging: 0-4 MiB one user 4 MiB page; 4-8 MiB 4 KiB pages with assorted rights; 8-12 MiB a supervisor 4 MiB page.
        k.Poke32(Pd + 0, 0x87);
        k.Poke32(Pd + 4, Pt | 0x07);
        k.Poke32(Pd + 8, 0x800000 | 0x83);
        k.Poke32(Pt + 0 * 4, 0x400000 | 0x03);   // supervisor read/write
        k.Poke32(Pt + 1 * 4, 0x401000 | 0x01);   // supervisor read-only
        k.Poke32(Pt + 2 * 4, 0x402000);          // not present
        k.Poke32(Pt + 3 * 4, 0x403000 | 0x07);   // user read/write
        k.Poke32(Pt + 4 * 4, 0x404000 | 0x05);   // user read-only
        k.Poke32(Pt + 5 * 4, MarkerA | 0x03);    // remapped by the INVLPG check

        a.mov(__dword_ptr[MarkerA], 0xAAAAAAAA);
        a.mov(__dword_ptr[MarkerB], 0xBBBBBBBB);
        a.mov(eax, cr4);
        a.or(eax, 0x10); // PSE
        a.mov(cr4, eax);
        a.mov(eax, Pd);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.and(eax, ~0x10000); // WP off
        a.or(eax, unchecked((int)0x80000000));
        a.mov(cr0, eax);

        // Accessed/dirty bits: a write sets A and D, a read only A (Intel SDM Vol. 3A, 4.8).
        a.mov(__dword_ptr[0x400010], 0x12345678);
        a.mov(eax, __dword_ptr[0x401010]);
        a.mov(eax, __dword_ptr[0x800020]);
        k.Str("P01 ");
        k.PM(Pt + 0);
        k.PM(Pt + 4);
        k.PM(Pd + 8);
        k.Str("\n");
        a.mov(__dword_ptr[0x800020], eax);
        k.Str("P02 ");
        k.PM(Pd + 8);
        k.PM(Pd + 0);
        k.Str("\n");

        // Not present: read, write and fetch (no I/D bit without PAE+NXE, Intel SDM Vol. 3A, 4.7).
        k.Expect("P03", () => a.mov(eax, __dword_ptr[0x402008]));
        k.Expect("P04", () => a.mov(__dword_ptr[0x402ffc], eax));
        k.Expect("P05", () => a.call(0x402000UL));
        k.Str("P06 ");
        k.PM(Pt + 8);
        k.Str("\n");

        // CR0.WP = 0: supervisor writes to read-only pages succeed and set D; CR0.WP = 1: #PF with P|W (SDM 4.6.1).
        k.Expect("P07", () => a.mov(__dword_ptr[0x401020], 0x55));
        k.Str("P08 ");
        k.PM(Pt + 4);
        k.Str("\n");
        a.mov(eax, cr0);
        a.or(eax, 0x10000);
        a.mov(cr0, eax);
        k.Expect("P09", () => a.mov(__dword_ptr[0x401024], 0x66));
        k.Expect("P10", () => a.mov(__dword_ptr[0x400030], 0x77));

        // User accesses: to a supervisor page (P|U), writes to a user read-only page (P|W|U), to a not-present page (U).
        k.ExpectRing3("P11", () => a.mov(eax, __dword_ptr[0x400000]));
        k.ExpectRing3("P12", () => a.mov(__dword_ptr[0x404010], eax));
        k.ExpectRing3("P13", () => a.mov(eax, __dword_ptr[0x402000]));
        k.ExpectRing3("P14", () =>
        {
            a.mov(__dword_ptr[0x403010], 0x99);
            a.mov(eax, __dword_ptr[0x403010]);
        });
        k.ExpectRing3("P15", () => a.mov(eax, __dword_ptr[0x800000]));
        k.Str("P16 ");
        k.PM(Pt + 12);
        k.PM(Pt + 16);
        k.Str("\n");

        // INVLPG: after remapping a cached translation, INVLPG makes the new mapping visible.
        a.mov(eax, __dword_ptr[0x405000]);
        k.Str("P17 ");
        k.P(eax);
        a.mov(__dword_ptr[Pt + 20], MarkerB | 0x03);
        a.invlpg(__[0x405000]);
        a.mov(eax, __dword_ptr[0x405000]);
        k.P(eax);
        k.Str("\n");

        // Rights combine across levels (SDM 4.6): a not-present PDE; a supervisor PDE over a user PTE; a read-only PDE
        // over a writable PTE with CR0.WP = 1. The PDE's accessed bit is set by the walk.
        k.Poke32(Pd + 12, 0);                           // 12-16 MiB: not present at the directory level
        k.Poke32(Pd + 16, Pt2 | 0x03);                  // 16-20 MiB: supervisor, writable directory entry
        k.Poke32(Pd + 20, Pt3 | 0x05);                  // 20-24 MiB: user, read-only directory entry
        k.Poke32(Pt2, 0x1F6000 | 0x07);
        k.Poke32(Pt3, 0x1F7000 | 0x07);
        k.Expect("P18", () => a.mov(eax, __dword_ptr[0xC00010]));
        k.ExpectRing3("P19", () => a.mov(eax, __dword_ptr[0x1000010]));
        k.Expect("P20", () => a.mov(__dword_ptr[0x1400010], eax));
        k.ExpectRing3("P21", () => a.mov(eax, __dword_ptr[0x1400010]));
        k.ExpectRing3("P22", () => a.mov(__dword_ptr[0x1400010], eax));
        k.Str("P23 ");
        k.PM(Pd + 16);
        k.Str("\nP24 ");
        k.PM(Pd + 20);
        k.PM(Pt2);
        k.PM(Pt3);
        k.Str("\n");

        // Paging off, PAE on with EFER.NXE.
        a.mov(eax, cr0);
        a.and(eax, 0x7FFFFFFF);
        a.mov(cr0, eax);

        k.Poke32(Pdpt, PaePd | 1);
        k.Poke32(PaePd + 0, 0x87);                          // 0-2 MiB, user 2 MiB page
        k.Poke32(PaePd + 8, 0x200000 | 0x87);               // 2-4 MiB
        k.Poke32(PaePd + 16, PaePt | 0x07);                 // 4-6 MiB, 4 KiB pages
        k.Poke32(PaePd + 24, 0x600000 | 0x83);              // 6-8 MiB, 2 MiB page, NX
        k.Poke32(PaePd + 28, 0x80000000);
        k.Poke32(PaePt + 0, 0x1F2000 | 0x03);               // NX data page
        k.Poke32(PaePt + 4, 0x80000000);
        k.Poke32(PaePt + 8, 0x1F3000 | 0x03);               // reserved bit 62 set
        k.Poke32(PaePt + 12, 0x40000000);
        k.Poke32(PaePt + 16, 0x1F4000 | 0x03);              // plain page, executable
        k.Poke32(PaePt + 24, 0x1F5000);                     // not present

        a.mov(__dword_ptr[0x1F4000], 0xC3C3C3C3); // RET
        a.mov(__dword_ptr[0x1F2000], 0xC3C3C3C3);
        a.mov(ecx, 0xC0000080);
        a.rdmsr();
        a.or(eax, 0x800); // NXE
        a.wrmsr();
        a.mov(eax, cr4);
        a.or(eax, 0x20); // PAE
        a.mov(cr4, eax);
        a.mov(eax, Pdpt);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)0x80000000));
        a.mov(cr0, eax);

        k.Expect("Q01", () => a.call(0x402000UL));
        k.Expect("Q02", () => a.call(0x400000UL));
        k.Expect("Q03", () => a.mov(eax, __dword_ptr[0x400000]));
        k.Expect("Q04", () => a.call(0x600000UL));
        k.Expect("Q05", () => a.mov(__dword_ptr[0x600040], eax));
        k.Expect("Q06", () => a.mov(eax, __dword_ptr[0x401000]));
        k.Expect("Q07", () => a.mov(__dword_ptr[0x401000], eax));
        k.Expect("Q08", () => a.call(0x403000UL));
        k.Expect("Q09", () => a.mov(__dword_ptr[0x403000], eax));
        k.ExpectRing3("Q10", () => a.call(0x402000UL));
        k.Expect("Q14", () => a.mov(eax, __dword_ptr[0x40000000])); // PDPTE 1 not present
        k.Str("Q11 ");
        k.PM(PaePt + 0);
        k.PM(PaePt + 4);
        k.PM(PaePt + 16);
        k.PM(PaePd + 24);
        k.PM(PaePd + 28);
        k.Str("\n");

        // Without EFER.NXE bit 63 is reserved (Intel SDM Vol. 3A, 4.4.2): the NX page now faults with RSVD.
        a.mov(ecx, 0xC0000080);
        a.rdmsr();
        a.and(eax, ~0x800);
        a.wrmsr();
        k.FlushTlb();
        k.Expect("Q12", () => a.mov(eax, __dword_ptr[0x400000]));
        k.Expect("Q13", () => a.mov(eax, __dword_ptr[0x600000]));
        a.mov(eax, cr0);
        a.and(eax, 0x7FFFFFFF);
        a.mov(cr0, eax);
        a.mov(eax, cr4);
        a.and(eax, ~0x30);
        a.mov(cr4, eax);
    });
}
