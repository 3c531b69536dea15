using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Cpu.Tests.MemoryAccess;

/// <summary>
/// The 4-level page walk against a slow reference model written from the entry formats of Intel SDM Vol. 3A, 4.5
/// (Tables 4-15 to 4-20), the access rights of 4.6, the error code of 4.7 and the accessed and dirty bits of 4.8.
/// </summary>
public sealed class FourLevelPageWalkPropertyTests
{
    // One table per level: PML4 at 10000h, PDPT 11000h, PD 12000h, PT 13000h.
    private const ulong FirstTable = 0x10000;
    private const ulong TableStride = 0x1000;

    private const ulong Present = 1;
    private const ulong Writable = 2;
    private const ulong User = 4;
    private const ulong Accessed = 0x20;
    private const ulong Dirty = 0x40;
    private const ulong PageSize = 0x80;
    private const ulong ExecuteDisable = 1UL << 63;

    private const ulong EferLme = 1UL << 8;
    private const ulong EferLma = 1UL << 10;
    private const ulong EferNxe = 1UL << 11;
    private const ulong Cr4Pae = 1UL << 5;
    private const ulong Cr4Pcide = 1UL << 17;
    private const ulong Cr0PePgEt = 0x8000_0011;
    private const ulong Cr0Wp = 1UL << 16;

    private static readonly int[] PhysicalWidths = [36, 40, 46, 52];

    /// <summary>
    /// Random 4-level tables for a random 64-bit linear address (canonical or not: only bits 47:0 translate): each level's
    /// P, R/W, U/S, PWT, PCD, A, D, PS (a 1 GiB page in a PDPTE, 2 MiB in a PDE, reserved in a PML4E), G and ignored bits,
    /// XD, frames anywhere below MAXPHYADDR, sometimes a reserved bit (above MAXPHYADDR, in a large page's reserved range),
    /// with EFER.NXE, CR0.WP, CR4.PCIDE with a PCID in CR3, models with and without 1 GiB pages and several MAXPHYADDR, and
    /// every access kind: the #PF error code (P, W/R, U/S, RSVD, I/D), the physical address and the A/D bits left in all four
    /// entries must equal the reference's.
    /// </summary>
    [Property(MaxTest = 1000)]
    public void Four_level_walk_matches_the_reference(int seed, bool nxe, bool wp, bool hugePages, bool pcide, byte access)
    {
        var random = new Random(seed);
        int maxPhysical = PhysicalWidths[random.Next(PhysicalWidths.Length)];
        CpuidModel model = CpuidModel.Default with
        {
            PhysicalAddressBits = maxPhysical,
            ExtendedFeaturesEdx = (CpuidModel.DefaultExtendedFeaturesEdx & ~CpuidModel.Page1GbFeatureEdx) | (hugePages ? CpuidModel.Page1GbFeatureEdx : 0),
        };
        var machine = new CpuHarness(new CpuOptions { Cpuid = model });
        (PhysicalMemoryMap memory, Cpu cpu) = (machine.Memory, machine.Cpu);
        bool write = (access & 3) == 1;
        bool fetch = (access & 3) == 2;
        bool user = (access & 4) != 0;

        ulong linear = (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);
        ulong[] entries = RandomEntries(random, maxPhysical);
        ulong[] addresses = new ulong[4];
        for (int level = 0; level < 4; level++)
        {
            addresses[level] = FirstTable + ((ulong)level * TableStride) + (Index(linear, level) * 8);
            memory.WriteQuadWord(new PhysicalAddress(addresses[level]), entries[level]);
        }

        cpu.Context.Efer = EferLme | EferLma | (nxe ? EferNxe : 0);
        cpu.Cr4 = Cr4Pae | (pcide ? Cr4Pcide : 0);
        cpu.Cr3 = FirstTable | (pcide ? (ulong)random.Next(0x1000) : 0);
        cpu.Cr0 = Cr0PePgEt | (wp ? Cr0Wp : 0);

        (int expectedError, ulong expectedPhysical, ulong[] expectedEntries) =
            Reference(entries, linear, write, fetch, user, wp, nxe, hugePages, maxPhysical);
        int error = cpu.TranslateForTest(linear, write, user, out ulong physical, fetch);

        Assert.Equal(expectedError, error);
        if (expectedError < 0)
        {
            Assert.Equal(expectedPhysical, physical);
        }

        for (int level = 0; level < 4; level++)
        {
            Assert.Equal(expectedEntries[level], memory.ReadQuadWord(new PhysicalAddress(addresses[level])));
        }
    }

    /// <summary>
    /// The same tables through the debugger's side-effect-free look-up: it finds the reference's physical address exactly
    /// when a supervisor read would succeed, and leaves the accessed bits alone.
    /// </summary>
    [Property(MaxTest = 300)]
    public void Peek_agrees_with_a_supervisor_read(int seed, bool nxe, bool hugePages)
    {
        var random = new Random(seed);
        CpuidModel model = CpuidModel.Default with
        {
            ExtendedFeaturesEdx = (CpuidModel.DefaultExtendedFeaturesEdx & ~CpuidModel.Page1GbFeatureEdx) | (hugePages ? CpuidModel.Page1GbFeatureEdx : 0),
        };
        var machine = new CpuHarness(new CpuOptions { Cpuid = model });
        ulong linear = (ulong)random.NextInt64();
        ulong[] entries = RandomEntries(random, model.PhysicalAddressBits);
        for (int level = 0; level < 4; level++)
        {
            ulong address = FirstTable + ((ulong)level * TableStride) + (Index(linear, level) * 8);
            machine.Memory.WriteQuadWord(new PhysicalAddress(address), entries[level]);
        }

        machine.Cpu.Context.Efer = EferLme | EferLma | (nxe ? EferNxe : 0);
        machine.Cpu.Cr4 = Cr4Pae;
        machine.Cpu.Cr3 = FirstTable;
        machine.Cpu.Cr0 = Cr0PePgEt;

        (int expectedError, ulong expectedPhysical, _) =
            Reference(entries, linear, write: false, fetch: false, user: false, wp: false, nxe, hugePages, model.PhysicalAddressBits);
        bool found = machine.Cpu.TryTranslateLinear(linear, out PhysicalAddress physical);

        Assert.Equal(expectedError < 0, found);
        if (found)
        {
            Assert.Equal(expectedPhysical, physical.Value);
        }

        for (int level = 0; level < 4; level++)
        {
            ulong address = FirstTable + ((ulong)level * TableStride) + (Index(linear, level) * 8);
            Assert.Equal(entries[level], machine.Memory.ReadQuadWord(new PhysicalAddress(address)));
        }
    }

    /// <summary>The index of <paramref name="linear"/> into the table of <paramref name="level"/> (0 = PML4): 47:39, 38:30, 29:21, 20:12.</summary>
    private static ulong Index(ulong linear, int level) => (linear >> (39 - (9 * level))) & 0x1FF;

    /// <summary>Bits <paramref name="high"/>:<paramref name="low"/> set (none when high &lt; low).</summary>
    private static ulong Bits(int high, int low) => high < low ? 0 : (high == 63 ? ~0UL : (1UL << (high + 1)) - 1) & ~((1UL << low) - 1);

    private static ulong[] RandomEntries(Random random, int maxPhysical)
    {
        ulong[] entries = new ulong[4];
        for (int level = 0; level < 4; level++)
        {
            ulong entry = random.Next(8) != 0 ? Present : 0;
            entry |= random.Next(4) != 0 ? Writable : 0;
            entry |= random.Next(4) != 0 ? User : 0;
            entry |= (ulong)random.Next(4) << 3; // PWT, PCD
            entry |= (ulong)random.Next(4) << 5; // A, D
            entry |= (ulong)random.Next(16) << 8; // G and the ignored bits 11:9
            entry |= random.Next(4) == 0 ? ExecuteDisable : 0;
            if (random.Next(4) == 0)
            {
                entry |= (ulong)random.Next(0x800) << 52; // bits 62:52, ignored in every 4-level entry
            }

            bool pageSize = level switch
            {
                0 => random.Next(16) == 0, // reserved in a PML4E
                1 or 2 => random.Next(3) == 0,
                _ => random.Next(2) == 0, // PAT in a PTE
            };
            entry |= pageSize ? PageSize : 0;
            bool leaf = level == 3 || (pageSize && level is 1 or 2);
            if (leaf)
            {
                // A frame anywhere below MAXPHYADDR, aligned to the page (bit 12 of a large page is its PAT bit).
                int pageShift = 39 - (9 * level);
                entry |= (ulong)random.NextInt64() & Bits(maxPhysical - 1, pageShift);
                entry |= level < 3 && random.Next(2) == 0 ? 1UL << 12 : 0;
            }
            else
            {
                entry |= FirstTable + ((ulong)(level + 1) * TableStride);
            }

            entries[level] = entry;
        }

        // Sometimes a reserved bit: above MAXPHYADDR in any entry, or in the reserved range of a large page.
        int victim = random.Next(4);
        switch (random.Next(6))
        {
            case 0 when maxPhysical < 52:
                entries[victim] |= 1UL << random.Next(maxPhysical, 52);
                break;
            case 1 when victim is 1 or 2 && (entries[victim] & PageSize) != 0:
                entries[victim] |= 1UL << random.Next(13, victim == 1 ? 30 : 21);
                break;
        }

        return entries;
    }

    private static (int Error, ulong Physical, ulong[] Entries) Reference(
        ulong[] entries, ulong linear, bool write, bool fetch, bool user, bool wp, bool nxe, bool hugePages, int maxPhysical)
    {
        ulong[] after = (ulong[])entries.Clone();

        // 4.7: W/R for writes, U/S for user accesses, I/D for fetches when CR4.PAE and EFER.NXE are set (no SMEP here).
        int code = (write ? 2 : 0) | (user ? 4 : 0) | (fetch && nxe ? 16 : 0);
        const int present = 1;
        const int reservedBit = 8;

        // Every 4-level entry reserves bits 51:MAXPHYADDR, and bit 63 (XD) when EFER.NXE is clear (Tables 4-15 to 4-20).
        ulong common = Bits(51, maxPhysical) | (nxe ? 0 : ExecuteDisable);

        ulong pml4e = entries[0];
        if ((pml4e & Present) == 0)
        {
            return (code, 0, after);
        }

        if ((pml4e & (common | PageSize)) != 0) // Table 4-15: bit 7 of a PML4E is reserved
        {
            return (code | present | reservedBit, 0, after);
        }

        ulong pdpte = entries[1];
        if ((pdpte & Present) == 0)
        {
            return (code, 0, after);
        }

        int levels;
        int pageShift;
        if ((pdpte & PageSize) != 0)
        {
            // Table 4-16: a 1 GiB page reserves bits 29:13; without CPUID Page1GB the PS bit itself is reserved (4.5.4).
            if (!hugePages || (pdpte & (common | Bits(29, 13))) != 0)
            {
                return (code | present | reservedBit, 0, after);
            }

            levels = 2;
            pageShift = 30;
        }
        else
        {
            if ((pdpte & common) != 0) // Table 4-17
            {
                return (code | present | reservedBit, 0, after);
            }

            ulong pde = entries[2];
            if ((pde & Present) == 0)
            {
                return (code, 0, after);
            }

            if ((pde & PageSize) != 0)
            {
                if ((pde & (common | Bits(20, 13))) != 0) // Table 4-18
                {
                    return (code | present | reservedBit, 0, after);
                }

                levels = 3;
                pageShift = 21;
            }
            else
            {
                if ((pde & common) != 0) // Table 4-19
                {
                    return (code | present | reservedBit, 0, after);
                }

                ulong pte = entries[3];
                if ((pte & Present) == 0)
                {
                    return (code, 0, after);
                }

                if ((pte & common) != 0) // Table 4-20
                {
                    return (code | present | reservedBit, 0, after);
                }

                levels = 4;
                pageShift = 12;
            }
        }

        // 4.6.1: user accesses need U/S = 1 in every entry used; writes need R/W = 1 in every entry, for supervisor
        // accesses only with CR0.WP. 4.6.2: with NXE, fetches need XD = 0 in every entry.
        bool allUser = true;
        bool allWritable = true;
        bool anyExecuteDisable = false;
        for (int level = 0; level < levels; level++)
        {
            allUser &= (entries[level] & User) != 0;
            allWritable &= (entries[level] & Writable) != 0;
            anyExecuteDisable |= (entries[level] & ExecuteDisable) != 0;
        }

        bool denied = (user && !allUser) || (write && !allWritable && (user || wp)) || (fetch && nxe && anyExecuteDisable);
        if (denied)
        {
            return (code | present, 0, after);
        }

        // 4.8: the accessed bit of every entry used; the dirty bit of the entry that maps the page, on writes.
        for (int level = 0; level < levels; level++)
        {
            after[level] |= Accessed;
        }

        if (write)
        {
            after[levels - 1] |= Dirty;
        }

        ulong frame = entries[levels - 1] & Bits(maxPhysical - 1, pageShift);
        return (-1, frame | (linear & Bits(pageShift - 1, 0)), after);
    }
}
