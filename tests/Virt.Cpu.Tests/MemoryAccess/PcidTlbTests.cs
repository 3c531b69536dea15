using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.MemoryAccess;

/// <summary>
/// What the software TLB keeps and drops under 4-level paging with PCIDs: MOV to CR3 with and without bit 63, PCID
/// switches, INVLPG and the four INVPCID types (Intel SDM Vol. 3A, 4.10.4.1; Vol. 2B, INVPCID), and the #GP/#UD rules of
/// CR4.PCIDE, CR3 and INVPCID. The TLB holds the current PCID's translations only (Mmu.OnCr3Load): a PCID switch drops
/// everything, a load with bit 63 and the same PCID keeps everything. Each test maps linear <see cref="Linear"/> to page A,
/// reads it (filling the TLB), remaps it to page B in memory without invalidating, does one operation and reads again:
/// A means the translation stayed cached, B that it was dropped.
/// </summary>
public sealed class PcidTlbTests
{
    private const ulong Pml4 = 0x60000;
    private const ulong Pdpt = 0x61000;
    private const ulong PageDirectory = 0x62000;
    private const ulong LowTable = 0x63000; // linear 0-2 MiB: identity for the 1 MiB of RAM
    private const ulong HighTable = 0x64000; // linear 2-4 MiB
    private const uint Linear = 0x200000;
    private const ulong PageA = 0x50000;
    private const ulong PageB = 0x51000;
    private const uint ValueA = 0xAAAA_AAAA;
    private const uint ValueB = 0xBBBB_BBBB;
    private const uint Descriptor = 0x70000;

    private const ulong Flags = 1 | 2 | 4; // P, R/W, U/S
    private const ulong EferLme = 1UL << 8;
    private const ulong EferLma = 1UL << 10;
    private const ulong Cr4Pae = 1UL << 5;
    private const ulong Cr4Pcide = 1UL << 17;
    private const ulong Cr0Pg = 1UL << 31;
    private const ulong NoFlush = 1UL << 63;
    private const int VectorInvalidOpcode = 6;
    private const int VectorGeneralProtection = 13;

    private static readonly CpuidModel PcidModel = CpuidModel.Default with
    {
        FeaturesEcx = CpuidModel.PcidFeatureEcx,
        StructuredExtendedFeaturesEbx = CpuidModel.InvpcidFeatureEbx,
    };

    private static H CreateMapped(CpuidModel? model = null)
    {
        var m = new H(model ?? PcidModel);
        m.Memory.WriteQuadWord(new PhysicalAddress(Pml4), Pdpt | Flags);
        m.Memory.WriteQuadWord(new PhysicalAddress(Pdpt), PageDirectory | Flags);
        m.Memory.WriteQuadWord(new PhysicalAddress(PageDirectory), LowTable | Flags);
        m.Memory.WriteQuadWord(new PhysicalAddress(PageDirectory + 8), HighTable | Flags);
        for (ulong page = 0; page < 256; page++)
        {
            m.Memory.WriteQuadWord(new PhysicalAddress(LowTable + (page * 8)), (page << 12) | Flags);
        }

        m.Memory.WriteQuadWord(new PhysicalAddress(HighTable), PageA | Flags);
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageA), ValueA);
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageB), ValueB);
        return m;
    }

    /// <summary>IA-32e paging state set from the host: EFER.LME/LMA, CR4.PAE (and PCIDE), CR3 with a PCID, CR0.PG.</summary>
    private static void EnterFourLevelPaging(H m, ulong pcid, bool pcide = true)
    {
        m.Cpu.Context.Efer = EferLme | EferLma;
        m.Cpu.Cr4 = Cr4Pae | (pcide ? Cr4Pcide : 0);
        m.Cpu.Cr3 = Pml4 | pcid;
        m.Cpu.Cr0 |= Cr0Pg | 1;
    }

    /// <summary>
    /// Runs 32-bit code under IA-32e paging (compatibility-mode addressing: linear addresses below 4 GiB): read the page,
    /// remap it to B, <paramref name="operation"/>, read again into ECX. Returns ECX.
    /// </summary>
    private static uint RunRemap(ulong pcid, Action<Iced.Intel.Assembler> operation, ulong descriptorPcid = 0, ulong descriptorAddress = 0)
    {
        var m = CreateMapped();

        // The INVPCID descriptor is written from the host: a guest write to a page never written before makes the memory
        // map materialize it, and that flushes every translation (Cpu.BlockFetch.cs, OnTranslationsInvalidated).
        m.Memory.WriteQuadWord(new PhysicalAddress(Descriptor), descriptorPcid);
        m.Memory.WriteQuadWord(new PhysicalAddress(Descriptor + 8), descriptorAddress);
        m.Load(a =>
        {
            a.mov(ebx, __dword_ptr[Linear]);
            a.mov(__dword_ptr[(uint)HighTable], (int)(PageB | Flags));
            operation(a);
            a.mov(ecx, __dword_ptr[Linear]);
            a.hlt();
        });
        EnterFourLevelPaging(m, pcid);
        m.Cpu.Run(1000);
        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(ValueA, (uint)m.Reg(GeneralRegister.Rbx));
        return (uint)m.Reg(GeneralRegister.Rcx);
    }

    private static void Invpcid(Iced.Intel.Assembler a, uint type)
    {
        a.mov(eax, type);
        a.invpcid(eax, __[Descriptor]);
    }

    [Fact]
    public void Without_invalidation_the_stale_translation_stays_cached()
    {
        Assert.Equal(ValueA, RunRemap(pcid: 3, a => a.nop()));
    }

    [Fact]
    public void Mov_to_cr3_without_bit_63_drops_the_current_pcids_translations()
    {
        Assert.Equal(ValueB, RunRemap(pcid: 3, a =>
        {
            a.mov(eax, cr3);
            a.mov(cr3, eax);
        }));
    }

    [Fact]
    public void Mov_to_cr3_with_another_pcid_drops_the_cached_translations()
    {
        Assert.Equal(ValueB, RunRemap(pcid: 3, a =>
        {
            a.mov(eax, (uint)Pml4 | 4);
            a.mov(cr3, eax);
        }));
    }

    [Fact]
    public void Invlpg_drops_the_page()
    {
        Assert.Equal(ValueB, RunRemap(pcid: 3, a => a.invlpg(__[Linear])));
    }

    [Theory]
    [InlineData(0u, 3u, ValueB)] // individual address, current PCID
    [InlineData(0u, 9u, ValueA)] // individual address, another PCID: nothing of it is cached
    [InlineData(1u, 3u, ValueB)] // single context, current PCID
    [InlineData(1u, 9u, ValueA)] // single context, another PCID
    [InlineData(2u, 9u, ValueB)] // all contexts, including globals
    [InlineData(3u, 9u, ValueB)] // all contexts but globals
    public void Invpcid_drops_what_its_type_names(uint type, uint pcid, uint expected)
    {
        Assert.Equal(expected, RunRemap(pcid: 3, a => Invpcid(a, type), descriptorPcid: pcid, descriptorAddress: Linear));
    }

    [Fact]
    public void Invpcid_individual_address_keeps_other_pages_of_the_pcid()
    {
        Assert.Equal(ValueA, RunRemap(pcid: 3, a => Invpcid(a, 0), descriptorPcid: 3, descriptorAddress: Linear + 0x1000));
    }

    [Fact]
    public void Cr3_load_with_bit_63_and_the_same_pcid_keeps_translations_and_does_not_store_bit_63()
    {
        var m = CreateMapped();
        EnterFourLevelPaging(m, pcid: 5);
        Assert.Equal(ValueA, (uint)m.Cpu.ReadLinearForTest(Linear, 4, out _, out _));
        m.Memory.WriteQuadWord(new PhysicalAddress(HighTable), PageB | Flags);

        Assert.True(m.Cpu.TryLoadCr3(Pml4 | 5 | NoFlush));
        Assert.Equal(Pml4 | 5, m.Cpu.Cr3);
        Assert.Equal(ValueA, (uint)m.Cpu.ReadLinearForTest(Linear, 4, out _, out _));

        Assert.True(m.Cpu.TryLoadCr3(Pml4 | 6 | NoFlush)); // a PCID switch drops everything, bit 63 or not
        Assert.Equal(ValueB, (uint)m.Cpu.ReadLinearForTest(Linear, 4, out _, out _));
    }

    [Fact]
    public void Cr3_load_with_bit_63_without_pcide_is_gp_in_ia32e_mode_and_keeps_cr3()
    {
        var m = CreateMapped();
        EnterFourLevelPaging(m, pcid: 0, pcide: false);
        Assert.False(m.Cpu.TryLoadCr3(Pml4 | NoFlush));
        Assert.Equal(Pml4, m.Cpu.Cr3);
    }

    [Theory]
    [InlineData(39, true)] // below the default 40-bit MAXPHYADDR
    [InlineData(40, false)]
    [InlineData(51, false)]
    [InlineData(55, false)] // bits 62:52 are reserved in CR3
    public void Cr3_bits_from_maxphyaddr_up_are_reserved_in_ia32e_mode(int bit, bool allowed)
    {
        var m = CreateMapped();
        EnterFourLevelPaging(m, pcid: 0);
        Assert.Equal(allowed, m.Cpu.TryLoadCr3(Pml4 | (1UL << bit)));
        Assert.Equal(allowed ? Pml4 | (1UL << bit) : Pml4, m.Cpu.Cr3);
    }

    [Fact]
    public void Setting_pcide_needs_ia32e_mode_and_pcid_0_and_clearing_pae_or_pg_is_refused_in_ia32e_mode()
    {
        var m = CreateMapped();
        m.Cpu.Cr4 = Cr4Pae;
        m.Cpu.Cr3 = Pml4;
        Assert.False(m.Cpu.Cr4PagingWriteAllowed(Cr4Pae | Cr4Pcide)); // EFER.LMA clear

        EnterFourLevelPaging(m, pcid: 0, pcide: false);
        m.Cpu.Cr3 = Pml4 | 1;
        Assert.False(m.Cpu.Cr4PagingWriteAllowed(Cr4Pae | Cr4Pcide)); // CR3[11:0] not zero
        m.Cpu.Cr3 = Pml4;
        Assert.True(m.Cpu.Cr4PagingWriteAllowed(Cr4Pae | Cr4Pcide));
        Assert.False(m.Cpu.Cr4PagingWriteAllowed(0)); // clearing PAE with EFER.LMA set

        m.Cpu.Cr4 = Cr4Pae | Cr4Pcide;
        Assert.True(m.Cpu.Cr4PagingWriteAllowed(Cr4Pae)); // clearing PCIDE is fine
        Assert.False(m.Cpu.Cr0PagingWriteAllowed(m.Cpu.Cr0 & ~Cr0Pg));
        Assert.True(m.Cpu.Cr0PagingWriteAllowed(m.Cpu.Cr0));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Mov_to_cr4_setting_pcide_outside_ia32e_mode_is_gp(bool advertised)
    {
        var m = CreateMapped(advertised ? PcidModel : CpuidModel.Default);
        m.InstallGate(VectorGeneralProtection);
        m.Run(a =>
        {
            a.mov(eax, (uint)(Cr4Pcide | Cr4Pae));
            a.mov(cr4, eax);
            a.hlt();
        });
        Assert.Equal(VectorGeneralProtection, m.Cpu.LastExceptionVector);
        Assert.Equal(0UL, m.Cpu.Cr4 & Cr4Pcide);
    }

    /// <summary>INVPCID's checks in 32-bit protected mode without paging (Intel SDM Vol. 2B, INVPCID, Protected Mode Exceptions).</summary>
    [Theory]
    [InlineData(4u, 0u, 0u, 0u, VectorGeneralProtection)] // type above 3
    [InlineData(0u, 0x1000u, 0u, 0u, VectorGeneralProtection)] // descriptor bit 12 (bits 63:12 reserved)
    [InlineData(0u, 1u, 0u, 0u, VectorGeneralProtection)] // PCID 1 for type 0 without CR4.PCIDE
    [InlineData(1u, 1u, 0u, 0u, VectorGeneralProtection)] // PCID 1 for type 1 without CR4.PCIDE
    [InlineData(2u, 1u, 0u, 0u, -1)] // types 2 and 3 ignore the PCID
    [InlineData(0u, 0u, 0u, 0x8000u, VectorGeneralProtection)] // type 0, non-canonical address (bit 47 set, 63:48 clear)
    [InlineData(1u, 0u, 0u, 0x8000u, -1)] // the address matters to type 0 only
    [InlineData(0u, 0u, 0xFFFF_F000u, 0xFFFF_FFFFu, -1)] // canonical high address
    public void Invpcid_checks_type_and_descriptor(uint type, uint descriptorLow, uint addressLow, uint addressHigh, int expectedVector)
    {
        var m = CreateMapped();
        m.InstallGate(VectorGeneralProtection);
        m.Run(a =>
        {
            a.mov(__dword_ptr[Descriptor], descriptorLow);
            a.mov(__dword_ptr[Descriptor + 4], 0);
            a.mov(__dword_ptr[Descriptor + 8], addressLow);
            a.mov(__dword_ptr[Descriptor + 12], addressHigh);
            a.mov(eax, type);
            a.invpcid(eax, __[Descriptor]);
            a.hlt();
        });
        Assert.Equal(expectedVector, m.Cpu.LastExceptionVector);
        Assert.True(m.Cpu.IsHalted);
    }

    [Fact]
    public void Invpcid_is_ud_unless_cpuid_advertises_it()
    {
        var m = CreateMapped(CpuidModel.Default);
        m.InstallGate(VectorInvalidOpcode);
        m.Run(a =>
        {
            a.xor(eax, eax);
            a.invpcid(eax, __[Descriptor]);
            a.hlt();
        });
        Assert.Equal(VectorInvalidOpcode, m.Cpu.LastExceptionVector);
    }
}
