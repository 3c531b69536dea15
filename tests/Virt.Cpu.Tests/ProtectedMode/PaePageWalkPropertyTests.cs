using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>The PAE page walk against a slow reference model written from Intel SDM Vol. 3A, 4.4, 4.6 and 4.7.</summary>
public sealed class PaePageWalkPropertyTests
{
    private const uint Pdpt = 0x10000;
    private const uint PageDirectory = 0x11000;
    private const uint PageTable = 0x12000;
    private const ulong ExecuteDisable = 1UL << 63;

    /// <summary>
    /// Random PDE and PTE flags (P, R/W, U/S, A, D, PS, XD, a reserved address bit), frames above 4 GiB, EFER.NXE, CR0.WP
    /// and the access kind: the CPU's result, #PF error code (including RSVD and I/D) and the A/D bits it leaves must
    /// equal the reference model's.
    /// </summary>
    [Property(MaxTest = 400)]
    public void Pae_walk_matches_the_reference(
        byte pdeFlags, byte pteFlags, bool pdeXd, bool pteXd, byte reservedChoice, bool nxe, bool wp, byte access, uint linear, bool highFrame)
    {
        var machine = new CpuHarness();
        (PhysicalMemoryMap memory, Cpu cpu) = (machine.Memory, machine.Cpu);
        bool write = (access & 3) == 1;
        bool fetch = (access & 3) == 2;
        bool user = (access & 4) != 0;

        // Frames: the PTE's at 5_0000_0000h + 3000h when highFrame (a 36-bit address), the 2 MiB page's at 2_0060_0000h.
        ulong pde = (pdeFlags & 0xE7u) | ((pdeFlags & 0x80) != 0 ? (highFrame ? 0x2_0060_0000UL : 0x0040_0000UL) : PageTable);
        ulong pte = (pteFlags & 0x67u) | (highFrame ? 0x5_0000_3000UL : 0x5_3000UL);
        pde |= pdeXd ? ExecuteDisable : 0;
        pte |= pteXd ? ExecuteDisable : 0;

        // Sometimes set a reserved bit: bit 40 (at the default model's 40-bit physical width), or bit 14 of a 2 MiB PDE.
        switch (reservedChoice % 8)
        {
            case 1:
                pde |= 1UL << 40;
                break;
            case 2:
                pte |= 1UL << 40;
                break;
            case 3 when (pde & 0x80) != 0:
                pde |= 1UL << 14; // in a 2 MiB PDE; in a PDE that points to a table it is an address bit
                break;
        }

        // Any linear address: the PDPTE, PDE and PTE go where bits 31:30, 29:21 and 20:12 select (Vol. 3A, 4.4.2).
        var pdeAddress = new PhysicalAddress(PageDirectory + (((linear >> 21) & 0x1FF) * 8));
        memory.WriteQuadWord(new PhysicalAddress(Pdpt + ((linear >> 30) * 8)), PageDirectory | 1);
        memory.WriteQuadWord(pdeAddress, pde);
        memory.WriteQuadWord(new PhysicalAddress(PageTable + (((linear >> 12) & 0x1FF) * 8)), pte);
        if (nxe)
        {
            Assert.True(cpu.TryWriteMsr(0xC000_0080, 1UL << 11));
        }

        cpu.Cr3 = Pdpt;
        cpu.Cr4 = 1u << 5;
        cpu.Cr0 = 0x8000_0011 | (wp ? 0x1_0000u : 0);

        (int expectedError, ulong expectedPhysical, ulong expectedPde, ulong expectedPte) = Reference(pde, pte, linear, write, fetch, user, wp, nxe);
        int error = cpu.TranslateForTest(linear, write, user, out ulong physical, fetch);

        Assert.Equal(expectedError, error);
        if (expectedError < 0)
        {
            Assert.Equal(expectedPhysical, physical);
        }

        Assert.Equal(expectedPde, memory.ReadQuadWord(pdeAddress));
        Assert.Equal(expectedPte, memory.ReadQuadWord(new PhysicalAddress(PageTable + (((linear >> 12) & 0x1FF) * 8))));
    }

    private static (int Error, ulong Physical, ulong Pde, ulong Pte) Reference(ulong pde, ulong pte, uint linear, bool write, bool fetch, bool user, bool wp, bool nxe)
    {
        // Error code: P (1), W/R (2), U/S (4), RSVD (8), I/D (16, only with PAE and EFER.NXE).
        int code = (write ? 2 : 0) | (user ? 4 : 0) | (fetch && nxe ? 16 : 0);
        // Bits 62:MAXPHYADDR (the default model's 40), and 63 without NXE (Vol. 3A, Tables 4-10 and 4-11).
        ulong reserved = (0x7FFF_FFFF_FFFF_FFFFUL & ~((1UL << CpuidModel.DefaultPhysicalAddressBits) - 1)) | (nxe ? 0 : ExecuteDisable);
        if ((pde & 1) == 0)
        {
            return (code, 0, pde, pte);
        }

        bool large = (pde & 0x80) != 0;
        if ((pde & (reserved | (large ? 0x1F_E000UL : 0))) != 0)
        {
            return (code | 1 | 8, 0, pde, pte);
        }

        if (!large)
        {
            if ((pte & 1) == 0)
            {
                return (code, 0, pde, pte);
            }

            if ((pte & reserved) != 0)
            {
                return (code | 1 | 8, 0, pde, pte);
            }
        }

        ulong rights = large ? pde : pde & pte;
        bool executeDisabled = nxe && ((pde & ExecuteDisable) != 0 || (!large && (pte & ExecuteDisable) != 0));
        bool allowed = (!user || (rights & 4) != 0) && (!write || (rights & 2) != 0 || (!user && !wp)) && !(fetch && executeDisabled);
        if (!allowed)
        {
            return (code | 1, 0, pde, pte);
        }

        if (large)
        {
            return (-1, (pde & 0xF_FFE0_0000UL) | (linear & 0x1F_FFFF), pde | 0x20 | (write ? 0x40UL : 0), pte);
        }

        return (-1, (pte & 0xF_FFFF_F000UL) | (linear & 0xFFF), pde | 0x20, pte | 0x20 | (write ? 0x40UL : 0));
    }
}
