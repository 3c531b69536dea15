using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.MemoryAccess;

/// <summary>
/// 4-level paging run by 32-bit guest code (compatibility-mode addressing: linear addresses below 4 GiB) through the TLB:
/// 1 GiB and 2 MiB pages, the accessed and dirty bits they leave in every level, and INVLPG of a large page (Intel SDM
/// Vol. 3A, 4.5, 4.8, 4.10.4.1).
/// </summary>
public sealed class FourLevelPagingTests
{
    private const ulong Pml4 = 0x60000;
    private const ulong Pdpt = 0x61000;
    private const ulong PageDirectory = 0x62000;
    private const ulong LowTable = 0x63000; // linear 0-2 MiB: identity for the 1 MiB of RAM
    private const uint OneGib = 0x4000_0000; // PDPTE 1: a 1 GiB page
    private const uint TwoMib = 0x40_0000; // PDE 2: a 2 MiB page

    private const ulong Flags = 1 | 2 | 4; // P, R/W, U/S
    private const ulong AccessedDirty = 0x60;
    private const ulong Accessed = 0x20;
    private const ulong PageSize = 0x80;
    private const ulong EferLme = 1UL << 8;
    private const ulong EferLma = 1UL << 10;
    private const ulong Cr4Pae = 1UL << 5;
    private const ulong Cr0PePg = 0x8000_0001;

    private static readonly CpuidModel HugePageModel = CpuidModel.Default with
    {
        ExtendedFeaturesEdx = CpuidModel.DefaultExtendedFeaturesEdx | CpuidModel.Page1GbFeatureEdx,
    };

    private static ulong Entry(H m, ulong address) => m.Memory.ReadQuadWord(new PhysicalAddress(address));

    private static H Run(Action<Iced.Intel.Assembler> build, ulong pdpte1, ulong pde2)
    {
        var m = new H(HugePageModel);
        m.Memory.WriteQuadWord(new PhysicalAddress(Pml4), Pdpt | Flags);
        m.Memory.WriteQuadWord(new PhysicalAddress(Pdpt), PageDirectory | Flags);
        m.Memory.WriteQuadWord(new PhysicalAddress(Pdpt + 8), pdpte1);
        m.Memory.WriteQuadWord(new PhysicalAddress(PageDirectory), LowTable | Flags);
        m.Memory.WriteQuadWord(new PhysicalAddress(PageDirectory + 16), pde2);
        for (ulong page = 0; page < 256; page++)
        {
            m.Memory.WriteQuadWord(new PhysicalAddress(LowTable + (page * 8)), (page << 12) | Flags);
        }

        m.Load(build);
        m.Cpu.Context.Efer = EferLme | EferLma;
        m.Cpu.Cr4 = Cr4Pae;
        m.Cpu.Cr3 = Pml4;
        m.Cpu.Cr0 |= Cr0PePg;
        m.Cpu.Run(1000);
        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        return m;
    }

    [Fact]
    public void One_gib_page_maps_its_frame_and_sets_accessed_everywhere_and_dirty_in_the_pdpte()
    {
        H m = Run(
            a =>
            {
                a.mov(__dword_ptr[OneGib + 0x52010], 0x1234_5678);
                a.hlt();
            },
            pdpte1: 0 | PageSize | Flags, // frame 0
            pde2: 0);
        Assert.Equal(0x1234_5678u, m.Dword(0x52010));
        Assert.Equal(Accessed, Entry(m, Pml4) & AccessedDirty);
        Assert.Equal(AccessedDirty, Entry(m, Pdpt + 8) & AccessedDirty);
    }

    [Fact]
    public void Two_mib_page_read_sets_accessed_but_not_dirty()
    {
        H m = Run(
            a =>
            {
                a.mov(ebx, __dword_ptr[TwoMib + 0x52010]);
                a.hlt();
            },
            pdpte1: 0,
            pde2: 0 | PageSize | Flags);
        Assert.Equal(Accessed, Entry(m, Pdpt) & AccessedDirty);
        Assert.Equal(Accessed, Entry(m, PageDirectory + 16) & AccessedDirty);
    }

    [Fact]
    public void Invlpg_anywhere_in_a_one_gib_page_drops_the_cached_slice()
    {
        // Read through the 1 GiB page (frame 0), remap it to the frame at 1 GiB (no RAM: reads all ones), INVLPG another
        // 4 KiB slice of it, read the first slice again: the SDM (4.10.4.1) has INVLPG drop every translation of the page.
        H m = Run(
            a =>
            {
                a.mov(__dword_ptr[0x52000], 0x5A5A_5A5A);
                a.mov(ebx, __dword_ptr[OneGib + 0x52000]);
                a.mov(__dword_ptr[(uint)Pdpt + 8], (int)(OneGib | PageSize | Flags));
                a.mov(ecx, __dword_ptr[OneGib + 0x52000]); // still cached
                a.invlpg(__[OneGib + 0x123000]);
                a.mov(edx, __dword_ptr[OneGib + 0x52000]);
                a.hlt();
            },
            pdpte1: 0 | PageSize | Flags,
            pde2: 0);
        Assert.Equal(0x5A5A_5A5AUL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0x5A5A_5A5AUL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0xFFFF_FFFFUL, m.Reg(GeneralRegister.Rdx));
    }

    [Fact]
    public void High_half_addresses_translate_cross_pages_and_keep_their_own_tlb_tags()
    {
        // Only PML4E 256 is present: FFFF8000_00000000 + x -> x; an address cut to 32 bits would find nothing.
        var m = new H();
        m.Memory.WriteQuadWord(new PhysicalAddress(Pml4 + (256 * 8)), Pdpt | Flags);
        m.Memory.WriteQuadWord(new PhysicalAddress(Pdpt), PageDirectory | Flags);
        m.Memory.WriteQuadWord(new PhysicalAddress(PageDirectory), LowTable | Flags);
        for (ulong page = 0; page < 256; page++)
        {
            m.Memory.WriteQuadWord(new PhysicalAddress(LowTable + (page * 8)), (page << 12) | Flags);
        }

        m.Memory.WriteQuadWord(new PhysicalAddress(0x52FF8), 0x1122_3344_5566_7788);
        m.Memory.WriteQuadWord(new PhysicalAddress(0x53000), 0x99AA_BBCC_DDEE_FF00);
        m.Cpu.Context.Efer = EferLme | EferLma;
        m.Cpu.Cr4 = Cr4Pae;
        m.Cpu.Cr3 = Pml4;
        m.Cpu.Cr0 |= Cr0PePg;
        const ulong high = 0xFFFF_8000_0005_2FF8;

        Assert.Equal(0x1122_3344_5566_7788UL, m.Cpu.ReadLinearForTest(high, 8, out int vector, out _));
        Assert.Equal(-1, vector);
        Assert.Equal(0xFF00_1122UL, m.Cpu.ReadLinearForTest(high + 6, 4, out vector, out _)); // crosses into the next page
        Assert.Equal(-1, vector);

        // PML4E 1 is not present. This address shares the TLB slot of the high one (page numbers equal in their low 8
        // bits) and must miss it: #PF, not present, supervisor read, with the whole address in CR2.
        const ulong unmapped = 0x0000_0080_0005_2FF8;
        m.Cpu.ReadLinearForTest(unmapped, 8, out vector, out int error);
        Assert.Equal(14, vector);
        Assert.Equal(0, error);
        Assert.Equal(unmapped, m.Cpu.Cr2);
    }
}
