using FsCheck;
using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>The 32-bit page walk against a slow reference model written from Intel SDM Vol. 3A, 4.3, 4.6 and 4.8.</summary>
public sealed class PageWalkPropertyTests
{
    private const uint PageDirectory = 0x10000;
    private const uint PageTable = 0x11000;

    /// <summary>
    /// Random PDE and PTE flag bits (P, R/W, U/S, A, D, PS), CR0.WP, CR4.PSE, access kind and privilege: the CPU's result,
    /// #PF error code, and the A/D bits it leaves must equal the reference model's.
    /// </summary>
    [Property(MaxTest = 300)]
    public void Page_walk_matches_the_reference(byte pdeFlags, byte pteFlags, bool write, bool user, bool wp, bool pse, uint linear)
    {
        var machine = new CpuHarness();
        (PhysicalMemoryMap memory, Cpu cpu) = (machine.Memory, machine.Cpu);
        uint pde = (pdeFlags & 0xE7u) | (pse && (pdeFlags & 0x80) != 0 ? 0u : PageTable); // a large page maps frame 0; without PSE, PS is ignored
        uint pte = (pteFlags & 0x67u) | 0x5_0000;
        // Any linear address: the PDE and PTE go where its directory and table indexes (bits 31:22 and 21:12) select.
        var pdeAddress = new PhysicalAddress(PageDirectory + ((linear >> 22) * 4));
        memory.WriteDoubleWord(pdeAddress, pde);
        memory.WriteDoubleWord(new PhysicalAddress(PageTable + ((linear >> 12) & 0x3FF) * 4), pte);
        cpu.Cr3 = PageDirectory;
        cpu.Cr4 = pse ? 1u << 4 : 0;
        cpu.Cr0 = 0x8000_0011 | (wp ? 0x1_0000u : 0);

        (int expectedError, uint expectedPhysical, uint expectedPde, uint expectedPte) = Reference(pde, pte, linear, write, user, wp, pse);
        int error = cpu.TranslateForTest(linear, write, user, out ulong physical);

        Assert.Equal(expectedError, error);
        if (expectedError < 0)
        {
            Assert.Equal(expectedPhysical, physical);
        }

        Assert.Equal(expectedPde, memory.ReadDoubleWord(pdeAddress));
        Assert.Equal(expectedPte, memory.ReadDoubleWord(new PhysicalAddress(PageTable + ((linear >> 12) & 0x3FF) * 4)));
    }

    private static (int Error, uint Physical, uint Pde, uint Pte) Reference(uint pde, uint pte, uint linear, bool write, bool user, bool wp, bool pse)
    {
        int code = (write ? 2 : 0) | (user ? 4 : 0);
        bool pdePresent = (pde & 1) != 0;
        if (!pdePresent)
        {
            return (code, 0, pde, pte);
        }

        bool large = pse && (pde & 0x80) != 0;
        bool userOk = (pde & 4) != 0 && (large || (pte & 4) != 0);
        bool writeOk = (pde & 2) != 0 && (large || (pte & 2) != 0);
        if (!large && (pte & 1) == 0)
        {
            return (code, 0, pde, pte);
        }

        // User accesses need U/S everywhere; writes need R/W everywhere, for supervisor accesses only with CR0.WP.
        bool allowed = (!user || userOk) && (!write || writeOk || (!user && !wp));
        if (!allowed)
        {
            return (code | 1, 0, pde, pte);
        }

        if (large)
        {
            uint newPde = pde | 0x20 | (write ? 0x40u : 0);
            return (-1, (pde & 0xFFC0_0000) | (linear & 0x3F_FFFF), newPde, pte);
        }

        return (-1, (pte & 0xFFFF_F000) | (linear & 0xFFF), pde | 0x20, pte | 0x20 | (write ? 0x40u : 0));
    }
}
