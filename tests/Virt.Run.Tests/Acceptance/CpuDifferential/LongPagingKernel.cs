using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Differential kernel 7: 4-level paging in 64-bit mode (Intel SDM Vol. 3A, 4.5): 4 KiB, 2 MiB and 1 GiB pages, accessed
/// and dirty bits, #PF error codes and CR2 for not-present, write, user and NX (I/D) faults, reserved-bit faults at every
/// level (RSVD), CR0.WP, rights combined across levels, INVLPG, CR3 reload and the CR3 format with CR4.PCIDE.
/// </summary>
internal static class LongPagingKernel
{
    private const uint Pt = DiffKernel64.PageArea;             // PD0[2]: 4-6 MiB in 4 KiB pages
    private const uint Pt2 = DiffKernel64.PageArea + 0x1000;   // PD0[6]: 12-14 MiB, through a supervisor PDE
    private const uint Pt3 = DiffKernel64.PageArea + 0x2000;  // PD0[7]: 14-16 MiB
    private const uint Pd4 = DiffKernel64.PageArea + 0x3000;  // PDPT0[4]: 4-5 GiB in 2 MiB pages
    private const uint Marker = 0x1F0000;                      // ten marker pages at 1F0000h-1F9000h
    private const ulong Nx = 1UL << 63;
    private const ulong Reserved51 = 1UL << 51;                // above MAXPHYADDR (40 in both models): reserved
    private const ulong Reserved13 = 1UL << 13;                // reserved in 2 MiB PDEs and 1 GiB PDPTEs (below the frame)
    private const ulong Ps = 0x80;
    private const ulong Page1GbBit = 1UL << 26;
    private const ulong PcidBit = 1UL << 17;

    public static byte[] Build() => DiffKernel64.Build(k =>
    {
        Assembler a = k.A;
        const uint pd0 = DiffKernel64.Pd0;
        const uint pdpt0 = DiffKernel64.Pdpt0;
        const uint pml4 = DiffKernel64.Pml4;

        k.Poke64(pd0 + (2 * 8), Pt | 0x07);
        k.Poke64(Pt + (0 * 8), (Marker + 0x0000) | 0x03);         // supervisor read/write
        k.Poke64(Pt + (1 * 8), (Marker + 0x1000) | 0x01);         // supervisor read-only
        k.Poke64(Pt + (2 * 8), Marker + 0x2000);                  // not present
        k.Poke64(Pt + (3 * 8), (Marker + 0x3000) | 0x07);         // user read/write
        k.Poke64(Pt + (4 * 8), (Marker + 0x4000) | 0x05);         // user read-only
        k.Poke64(Pt + (5 * 8), (Marker + 0x5000) | 0x03 | Nx);    // supervisor, no execute
        k.Poke64(Pt + (6 * 8), (Marker + 0x6000) | 0x03 | Reserved51);
        k.Poke64(Pt + (7 * 8), (Marker + 0x7000) | 0x03);         // remapped by INVLPG and CR3 reload
        k.Poke64(Pt + (8 * 8), (Marker + 0x8000) | 0x03);         // supervisor, executable (holds a RET)
        k.Poke64(pd0 + (3 * 8), 0x600000 | Ps | 0x03 | Nx);       // 6-8 MiB: 2 MiB supervisor no-execute
        k.Poke64(pd0 + (4 * 8), 0x800000 | Ps | 0x01);            // 8-10 MiB: 2 MiB supervisor read-only
        k.Poke64(pd0 + (5 * 8), 0xA00000 | Ps | 0x03 | Reserved13);
        k.Poke64(pd0 + (6 * 8), Pt2 | 0x03);                      // supervisor PDE over a user PTE
        k.Poke64(Pt2, (Marker + 0x9000) | 0x07);
        k.Poke64(pdpt0 + (1 * 8), 0 | Ps | 0x03);                 // 1-2 GiB: 1 GiB page onto 0 (supervisor)
        k.Poke64(pdpt0 + (2 * 8), 0 | Ps | 0x03 | Reserved13);    // 2-3 GiB: reserved bit 13 of a 1 GiB PDPTE
        k.Poke64(pdpt0 + (3 * 8), 0 | Ps | 0x05 | Nx);            // 3-4 GiB: 1 GiB user read-only no-execute
        k.Poke64(pml4 + (1 * 8), pdpt0 | Ps | 0x07);              // PS is reserved in a PML4E (SDM 4.5.4, Table 4-15)
        // PML4[2] (1-1.5 TiB) not present.
        k.Poke64(pd0 + (7 * 8), Pt3 | 0x03 | Nx);                 // 14-16 MiB: NX in the PDE over an executable PTE
        k.Poke64(Pt3, (Marker + 0x8000) | 0x03);
        k.Poke64(pdpt0 + (4 * 8), Pd4 | 0x05);                    // 4-5 GiB: read-only PDPTE over writable 2 MiB PDEs
        k.Poke64(Pd4, 0 | Ps | 0x07);
        k.Poke64(Pd4 + 8, 0x200000 | Ps | 0x07);

        for (uint i = 0; i < 10; i++)
        {
            a.mov(__dword_ptr[Marker + (i * 0x1000)], (int)(0xA0A0A000 + i));
        }

        a.mov(__byte_ptr[Marker + 0x8000], 0xC3);
        a.mov(__byte_ptr[Marker + 0x5000], 0xC3);
        a.mov(ecx, 0xC0000080);
        a.rdmsr();
        a.or(eax, 0x800); // EFER.NXE
        a.wrmsr();
        a.mov(rax, cr0);
        a.and(eax, ~0x10000); // WP off
        a.mov(cr0, rax);
        k.FlushTlb();

        // Does the CPU support 1 GiB pages (CPUID.80000001h:EDX[26])? Without, PS in a PDPTE is reserved and the 1 GiB
        // lines below fault with RSVD in both (and this line shows the difference).
        k.Str("L00 ");
        a.mov(eax, 0x80000001);
        a.cpuid();
        a.and(edx, (int)Page1GbBit);
        k.P32(rdx);
        k.Str("\n");

        // Accessed/dirty: a read sets A, a write A and D in the leaf; A in every paging-structure entry used (SDM 4.8).
        a.mov(eax, __dword_ptr[0x400000]);
        a.mov(__dword_ptr[0x403010], eax);
        a.mov(ebx, __dword_ptr[0x401000]);
        k.Str("L01 ");
        k.PM(Pt + 0);
        k.PM(Pt + 8);
        k.PM(Pt + 24);
        k.PM(pd0 + 16);
        k.PM(pml4);
        k.PM(pdpt0);
        k.Str("\n");
        a.mov(eax, __dword_ptr[0x800010]);
        k.Str("L02 ");
        k.P32(rax);
        k.PM(pd0 + 32);
        k.Str("\n");
        k.Expect("L03", () =>
        {
            a.mov(eax, __dword_ptr[0x40000000 + Marker + 0x9000]);
            k.P32(rax);
            a.mov(__dword_ptr[0x40000000 + Marker + 0x9100], eax);
            k.PM(pdpt0 + 8);
        });

        // Not present: read, write, fetch (I/D with NXE, SDM 4.7), CR2 the faulting address.
        k.Expect("L04", () => a.mov(eax, __dword_ptr[0x402008]));
        k.Expect("L05", () => a.mov(__dword_ptr[0x402ffc], eax));
        k.Expect("L06", () => a.call(0x402000UL));

        // NX (SDM 4.6.2): fetch from a 4 KiB, 2 MiB and 1 GiB no-execute page; reading them is allowed.
        k.Expect("L07", () => a.call(0x405000UL));
        k.Expect("L08", () => a.call(0x600000UL));
        k.Expect("L09", () =>
        {
            a.mov(eax, __dword_ptr[0x405000]);
            k.P32(rax);
            a.mov(eax, __dword_ptr[0x600000]);
        });
        k.Expect("L10", () => { a.mov(ebx, 0xC0000000 + Marker + 0x8000); a.call(rbx); });
        k.Expect("L11", () => a.call(0x408000UL)); // executable: returns

        // Reserved bits (SDM 4.5.4 and 4.7): a PTE above MAXPHYADDR, a 2 MiB PDE and a 1 GiB PDPTE with bit 13, PS in a PML4E.
        k.Expect("L12", () => a.mov(eax, __dword_ptr[0x406000]));
        k.Expect("L13", () => a.mov(__dword_ptr[0xA00000], eax));
        k.Expect("L14", () => { a.mov(ebx, 0x80000000); a.mov(eax, __dword_ptr[rbx]); });
        k.Expect("L15", () => { a.mov(rbx, 0x80_0000_0000UL); a.mov(eax, __dword_ptr[rbx]); });
        k.Expect("L16", () => { a.mov(rbx, 0x100_0000_0000UL); a.mov(eax, __dword_ptr[rbx]); }); // PML4E not present

        // CR0.WP (SDM 4.6.1): off, supervisor writes to read-only pages succeed (and set D); on, #PF with P|W.
        k.Expect("L17", () =>
        {
            a.mov(__dword_ptr[0x401020], 0x55);
            a.mov(__dword_ptr[0x800040], 0x56);
            k.PM(Pt + 8);
            k.PM(pd0 + 32);
        });
        a.mov(rax, cr0);
        a.or(eax, 0x10000);
        a.mov(cr0, rax);
        k.Expect("L18", () => a.mov(__dword_ptr[0x401024], 0x66));
        k.Expect("L19", () => a.mov(__dword_ptr[0x800044], 0x67));
        k.Expect("L20", () => { a.mov(ebx, 0xC0000000 + Marker); a.mov(__dword_ptr[rbx], 0x68); }); // 1 GiB read-only

        // User accesses (SDM 4.6): supervisor page (P|U), user read-only (P|W|U), not present (U), a supervisor PDE over a
        // user PTE, a user fetch from a supervisor page (P|U|I), and a user read of a user 1 GiB page.
        k.ExpectRing3("L21", () => a.mov(eax, __dword_ptr[0x400000]));
        k.ExpectRing3("L22", () => a.mov(__dword_ptr[0x404010], eax));
        k.ExpectRing3("L23", () => a.mov(eax, __dword_ptr[0x402000]));
        k.ExpectRing3("L24", () =>
        {
            a.mov(__dword_ptr[0x403020], 0x99);
            a.mov(eax, __dword_ptr[0x403020]);
        });
        k.ExpectRing3("L25", () => a.mov(eax, __dword_ptr[0xC00000]));
        k.ExpectRing3("L26", () => a.call(0x408000UL));
        k.ExpectRing3("L27", () => { a.mov(ebx, 0xC0000000 + Marker + 0x4000); a.mov(eax, __dword_ptr[rbx]); });
        k.ExpectRing3("L28", () => a.mov(eax, __dword_ptr[0x40000000 + Marker]));
        k.Str("L29 ");
        k.PM(Pt + 24);
        k.PM(Pt + 32);
        k.PM(pd0 + 48);
        k.PM(Pt2);
        k.PM(pdpt0 + 24);
        k.Str("\n");

        // INVLPG and CR3 reload make a changed mapping visible.
        a.mov(eax, __dword_ptr[0x407000]);
        k.Str("L30 ");
        k.P32(rax);
        a.mov(__qword_ptr[Pt + (7 * 8)], (int)((Marker + 0x9000) | 0x03));
        a.invlpg(__[0x407000]);
        a.mov(eax, __dword_ptr[0x407000]);
        k.P32(rax);
        a.mov(__qword_ptr[Pt + (7 * 8)], (int)((Marker + 0x3000) | 0x03));
        k.FlushTlb();
        a.mov(eax, __dword_ptr[0x407000]);
        k.P32(rax);
        k.Str("\n");

        // NX and R/W in non-leaf entries apply to the whole region (SDM 4.6): NX in a PDE, R/W = 0 in a PDPTE (WP = 1).
        k.Expect("L33", () => a.call(0xE00000UL));
        k.Expect("L34", () =>
        {
            a.mov(rbx, 0x1_0000_0000UL + Marker);
            a.mov(eax, __dword_ptr[rbx]);
            k.P32(rax);
            a.mov(__dword_ptr[rbx], eax);
        });
        k.ExpectRing3("L35", () => { a.mov(rbx, 0x1_0020_0000UL); a.mov(__dword_ptr[rbx], eax); });

        // INVLPG with any address inside a 2 MiB or 1 GiB page invalidates the whole page's translation (SDM 4.10.4.1).
        a.mov(__dword_ptr[0x3F0000], unchecked((int)0xB0B0B0B0));
        k.Expect("L36", () =>
        {
            a.mov(rbx, 0x1_0000_0000UL + Marker);
            a.mov(eax, __dword_ptr[rbx]);
            k.P32(rax);
            a.mov(__qword_ptr[Pd4], 0x200000 | (int)Ps | 0x07);
            a.mov(rcx, 0x1_0000_0000UL + 0x12345);
            a.invlpg(__[rcx]);
            a.mov(eax, __dword_ptr[rbx]);
            k.P32(rax);
        });
        k.Expect("L37", () =>
        {
            a.mov(__dword_ptr[0x40000000 + Marker + 0x100], eax); // cached writable and dirty
            a.and(__qword_ptr[pdpt0 + 8], ~0x02);                 // now read-only
            a.mov(ecx, 0x40000000 + 0x12345000);
            a.invlpg(__[rcx]);
            a.mov(__dword_ptr[0x40000000 + Marker + 0x100], eax);
        });
        a.or(__qword_ptr[pdpt0 + 8], 0x02);
        k.FlushTlb();

        // PCID (SDM 4.10.1, 2.5): CR3[11:0] is the PCID with CR4.PCIDE; bit 63 of a MOV to CR3 is not stored; setting
        // PCIDE with CR3[11:0] != 0 is #GP(0).
        Label noPcid = a.CreateLabel();
        k.Str("L31 ");
        a.mov(eax, 1);
        a.cpuid();
        a.and(ecx, (int)PcidBit);
        k.P32(rcx);
        a.jz(noPcid);
        a.mov(rax, cr4);
        a.or(eax, 1 << 17);
        a.mov(cr4, rax);
        a.mov(eax, pml4 | 1);
        a.mov(cr3, rax);
        a.mov(rax, cr3);
        k.P(rax);
        a.mov(rax, (1UL << 63) | pml4 | 2);
        a.mov(cr3, rax);
        a.mov(rax, cr3);
        k.P(rax);
        a.mov(eax, __dword_ptr[0x400000]);
        k.P32(rax);
        a.mov(eax, pml4);
        a.mov(cr3, rax);
        a.mov(rax, cr4);
        a.and(eax, ~(1 << 17));
        a.mov(cr4, rax);
        a.mov(eax, pml4 | 0x08); // PWT
        a.mov(cr3, rax);
        a.Label(ref noPcid);
        k.Str("\n");
        k.Expect("L32", () =>
        {
            a.mov(rax, cr4);
            a.or(eax, 1 << 17);
            a.mov(cr4, rax);
        });
        a.mov(eax, pml4);
        a.mov(cr3, rax);
    });
}
