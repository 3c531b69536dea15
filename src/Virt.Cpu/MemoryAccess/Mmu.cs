using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// The memory-management unit: linear to physical translation and the software TLB. It owns the page walks (32-bit paging
/// with 4 KiB and 4 MiB pages, Intel SDM Vol. 3A, 4.3; PAE paging with the PDPTE registers, 2 MiB pages, reserved-bit checks
/// and execute-disable, 4.4 and 4.6.2; 4-level paging with 4 KiB, 2 MiB and 1 GiB pages, 4.5), accessed and dirty bits, the
/// data TLB (read and write host pointers) and the fetch TLB, their invalidation (CR0/CR3/CR4 writes, PCIDs, INVLPG,
/// INVPCID, EFER.NXE, privilege changes) and the translation epoch that block chaining checks. It reads paging state from
/// the <see cref="CpuContext"/> and paging structures from guest physical memory; it raises nothing: a walk returns the #PF
/// error code and the CPU delivers the fault.
/// </summary>
/// <remarks>
/// <para>
/// The TLB tags are 64-bit linear page numbers + 1 (at most 2^52, so the + 1 never wraps): any 64-bit linear address is a
/// valid key, canonical or not. With PCIDs the TLB holds the current PCID's translations only (see <see cref="OnCr3Load"/>):
/// tagging entries with the PCID would cost a wider tag or a second compare in the access fast path for translations that
/// the 256 direct-mapped slots would mostly have evicted by the time their address space came back.
/// </para>
/// <para>
/// The data TLB's arrays are read directly by the CPU's inlined access fast path (Cpu.Memory.cs: one tag compare, then a
/// host-pointer load): the arrays are the MMU's, the CPU keeps references to them so that the fast path costs no extra
/// indirection.
/// </para>
/// </remarks>
internal sealed class Mmu
{
    /// <summary>The number of entries of each TLB (direct mapped by linear page number).</summary>
    public const int TlbEntries = 256;

    /// <summary>log2 of the page size.</summary>
    public const int PageShift = 12;

    /// <summary>The offset bits of a linear or physical address within its 4 KiB page.</summary>
    public const uint PageMask = 0xFFF;

    internal const uint PtePresent = 1;
    internal const uint PteWritable = 2;
    internal const uint PteUser = 4;
    internal const uint PteAccessed = 0x20;
    internal const uint PteDirty = 0x40;
    internal const uint PteLargePage = 0x80;

    // Page-fault error code bits (Intel SDM Vol. 3A, 4.7, Figure 4-12).
    internal const int PfProtection = 1;
    internal const int PfWrite = 2;
    internal const int PfUser = 4;

    // Page-fault error code bits for reserved-bit violations and instruction fetches (Intel SDM Vol. 3A, 4.7).
    internal const int PfReserved = 8;
    internal const int PfInstructionFetch = 16;
    internal const ulong PteExecuteDisable = 1UL << 63;

    // Bits 62:52: reserved in PAE entries and in CR3 under IA-32e mode; ignored in 4-level entries (Intel SDM Vol. 3A, 4.4.2,
    // 4.5.4 and 2.5).
    internal const ulong Bits62To52 = 0x7FF0_0000_0000_0000;

    // A PDPTE of PAE paging reserves bits 2:1 and 8:5 as well (Intel SDM Vol. 3A, 4.4.1, Table 4-8), and bit 63 (no XD).
    internal const ulong PdpteLowReserved = 0x8000_0000_0000_01E6;

    // A 2 MiB PDE reserves bits 20:13 (Intel SDM Vol. 3A, Tables 4-9 and 4-18); a 1 GiB PDPTE reserves bits 29:13 (Table 4-16).
    internal const ulong PaeLargePageReserved = 0x1F_E000;
    internal const ulong HugePageReserved = 0x3FFF_E000;

    // CR3 bits 11:0 hold the PCID when CR4.PCIDE is set; bit 63 of a MOV to CR3 source then asks not to flush (Intel SDM Vol. 3A,
    // 4.10.4.1); the bit is never stored.
    internal const ulong Cr3PcidMask = 0xFFF;
    internal const ulong Cr3NoFlush = 1UL << 63;

    // Each paging-structure level of PAE and 4-level paging indexes 512 eight-byte entries with 9 bits of the linear address.
    private const int LevelIndexBits = 9;
    private const ulong LevelIndexMask = 0x1FF;
    private const int EntrySizeInBytes = 8;
    private const int Pml4Shift = 39;
    private const ulong LargePageOffsetMask = 0x1F_FFFF;

    private readonly Cpu _cpu;
    private readonly PhysicalMemoryMap _memory;

    // MAXPHYADDR from the CPUID model: the frame bits (M-1):12 of an entry or CR3, bits 51:M reserved in 4-level entries,
    // bits 62:M reserved in PAE entries (Intel SDM Vol. 3A, 4.4.2 and 4.5.4).
    private readonly ulong _frameMask;
    private readonly ulong _addressReserved;
    private readonly ulong _paeHighReserved;
    private readonly ulong _pdpteReserved;
    private readonly bool _hugePages;

    // Instruction-fetch translations (linear page + 1 -> physical page), flushed with the data TLB.
    private readonly ulong[] _fetchTag = new ulong[TlbEntries];
    private readonly ulong[] _fetchPage = new ulong[TlbEntries];

    // Whether a translation from a large page (4 MiB or 2 MiB) may be cached: INVLPG must then drop every 4 KiB slice of
    // it, which a full flush does (Intel SDM Vol. 3A, 4.10.4.1: INVLPG invalidates all entries for the page).
    private bool _holdsLargePages;

    /// <summary>Creates the MMU of one CPU.</summary>
    /// <param name="cpu">The CPU whose state (CR0, CR3, CR4, EFER, PDPTEs, CPL) selects the paging mode.</param>
    /// <param name="memory">Guest physical memory, where the paging structures live.</param>
    /// <param name="model">The CPUID model (validated): MAXPHYADDR and whether 1 GiB pages exist.</param>
    public Mmu(Cpu cpu, PhysicalMemoryMap memory, CpuidModel model)
    {
        _cpu = cpu;
        _memory = memory;
        ulong addressable = (1UL << model.PhysicalAddressBits) - 1;
        _frameMask = addressable & ~(ulong)PageMask;
        _addressReserved = ((1UL << CpuidModel.MaxPhysicalAddressBits) - 1) & ~addressable;
        _paeHighReserved = _addressReserved | Bits62To52;
        _pdpteReserved = _paeHighReserved | PdpteLowReserved;
        _hugePages = (model.ExtendedFeaturesEdx & CpuidModel.Page1GbFeatureEdx) != 0;
    }

    /// <summary>The CPU's architectural state.</summary>
    private ref CpuContext Ctx => ref _cpu.Context;

    /// <summary>Data-read TLB tags: linear page number + 1 (zero means empty).</summary>
    public ulong[] ReadTag { get; } = new ulong[TlbEntries];

    /// <summary>Data-read TLB host page pointers.</summary>
    public nint[] ReadHost { get; } = new nint[TlbEntries];

    /// <summary>Data-write TLB tags: linear page number + 1 (zero means empty).</summary>
    public ulong[] WriteTag { get; } = new ulong[TlbEntries];

    /// <summary>Data-write TLB host page pointers.</summary>
    public nint[] WriteHost { get; } = new nint[TlbEntries];

    /// <summary>
    /// Counts TLB invalidations. Block chaining links record it: a link made under another set of translations is stale
    /// (Intel SDM Vol. 3A, 4.10.4: software must invalidate after changing a mapping, so no other event can make it so).
    /// </summary>
    public uint TranslationEpoch { get; private set; }

    /// <summary>
    /// Set while the CPU makes an implicit supervisor-mode access (descriptor tables, TSS, Intel SDM Vol. 3A, 4.6): the
    /// walk then checks supervisor rights whatever the CPL, and nothing is cached in the TLB.
    /// </summary>
    public bool SupervisorAccess;

    /// <summary>Whether CR0.PG and CR0.PE are both set: linear addresses go through the page walk.</summary>
    public bool PagingEnabled => (Ctx.Cr0 & (Cr0Bits.Pg | Cr0Bits.Pe)) == (Cr0Bits.Pg | Cr0Bits.Pe);

    /// <summary>Whether CR4.PAE selects PAE or 4-level paging (when paging is on).</summary>
    public bool IsPaeMode => (Ctx.Cr4 & Cr4Bits.Pae) != 0;

    /// <summary>
    /// Whether paging, when on, is PAE paging with its PDPTE registers: CR4.PAE without EFER.LMA (4-level paging has no
    /// PDPTE registers, Intel SDM Vol. 3A, 4.4.1 and 4.5).
    /// </summary>
    public bool UsesPdptes => (Ctx.Cr4 & Cr4Bits.Pae) != 0 && (Ctx.Efer & EferBits.Lma) == 0;

    /// <summary>The current PCID: CR3 bits 11:0 with CR4.PCIDE, else 0 (Intel SDM Vol. 3A, 4.10.1).</summary>
    public ulong CurrentPcid => (Ctx.Cr4 & Cr4Bits.Pcide) != 0 ? Ctx.Cr3 & Cr3PcidMask : 0;

    /// <summary>The CR3 bits a MOV to CR3 must leave clear in IA-32e mode: 62:MAXPHYADDR, and 63 unless CR4.PCIDE is set.</summary>
    public ulong LongModeCr3Reserved => (_addressReserved | Bits62To52) | ((Ctx.Cr4 & Cr4Bits.Pcide) != 0 ? 0 : Cr3NoFlush);

    /// <summary>Bits 63 (when NXE is clear) and 62:MAXPHYADDR of a PAE PDE or PTE must be zero.</summary>
    public ulong PaeEntryReserved => _paeHighReserved | ((Ctx.Efer & EferBits.Nxe) == 0 ? PteExecuteDisable : 0);

    /// <summary>Drops every cached translation and starts a new translation epoch.</summary>
    public void Flush()
    {
        Array.Clear(ReadTag);
        Array.Clear(WriteTag);
        Array.Clear(_fetchTag);
        _holdsLargePages = false;
        TranslationEpoch++;
    }

    /// <summary>INVLPG: drops the cached translations of one linear page (all of them when a large page may be cached).</summary>
    /// <param name="linear">An address in the page.</param>
    public void InvalidateLinearPage(LinearAddress linear)
    {
        if (_holdsLargePages)
        {
            Flush();
            return;
        }

        ulong tag = linear.PageNumber + 1;
        int slot = (int)linear.PageNumber & (TlbEntries - 1);
        if (ReadTag[slot] == tag)
        {
            ReadTag[slot] = 0;
        }

        if (WriteTag[slot] == tag)
        {
            WriteTag[slot] = 0;
        }

        if (_fetchTag[slot] == tag)
        {
            _fetchTag[slot] = 0;
        }

        TranslationEpoch++;
    }

    /// <summary>
    /// Translation for instruction fetch, through the fetch TLB: -1 and the physical address, or the #PF error code the
    /// fetch raises (the CPU records it as a pending fetch fault).
    /// </summary>
    /// <param name="linear">The linear address of the code byte.</param>
    /// <param name="physical">The physical address (before A20 masking) when the result is -1.</param>
    /// <returns>-1 on success, else the page-fault error code.</returns>
    public int TranslateFetch(LinearAddress linear, out PhysicalAddress physical)
    {
        if (!PagingEnabled)
        {
            physical = new PhysicalAddress(linear.Value);
            return -1;
        }

        ulong page = linear.PageNumber;
        int slot = (int)page & (TlbEntries - 1);
        if (_fetchTag[slot] == page + 1)
        {
            physical = new PhysicalAddress((_fetchPage[slot] << PageShift) | ((uint)linear.Value & PageMask));
            return -1;
        }

        int error = Walk(linear.Value, write: false, fetch: true, out ulong result);
        if (error >= 0)
        {
            physical = default;
            return error;
        }

        _fetchTag[slot] = page + 1;
        _fetchPage[slot] = result >> PageShift;
        physical = new PhysicalAddress(result);
        return -1;
    }

    /// <summary>
    /// Translates as the current paging mode would for a supervisor read, without setting accessed or dirty bits, filling
    /// the TLB or faulting (for debuggers and diagnostics). No A20 masking.
    /// </summary>
    /// <param name="linear">The linear address.</param>
    /// <param name="physical">The physical address when the result is true.</param>
    /// <returns>False when the page is not present (a reserved bit set in a present entry counts as not present).</returns>
    public bool TryPeek(ulong linear, out ulong physical)
    {
        if (!PagingEnabled)
        {
            physical = linear;
            return true;
        }

        if (!IsPaeMode)
        {
            return Peek32((uint)linear, out physical);
        }

        return UsesPdptes ? PeekPae((uint)linear, out physical)
            : Walk4Level(linear, write: false, fetch: false, user: false, setAccessed: false, out physical) < 0;
    }

    /// <summary>
    /// The page walk for the current paging mode. Returns -1 and the physical address on success, or the #PF error code.
    /// Sets the accessed bits, and the dirty bit on writes, only on success. Outside IA-32e mode only bits 31:0 of
    /// <paramref name="linear"/> count; in it, bits 47:0 (the caller checks canonical form, Intel SDM Vol. 3A, 3.3.7.1).
    /// </summary>
    public int Walk(ulong linear, bool write, bool fetch, out ulong physical)
    {
        if ((Ctx.Cr4 & Cr4Bits.Pae) != 0)
        {
            if ((Ctx.Efer & EferBits.Lma) != 0)
            {
                return Walk4Level(linear, write, fetch, Ctx.Cpl == 3 && !SupervisorAccess, setAccessed: true, out physical);
            }

            return WalkPae((uint)linear, write, fetch, out physical);
        }

        int error = Walk32((uint)linear, write, out uint result);
        physical = result;
        return error;
    }

    /// <summary>
    /// 4-level paging (Intel SDM Vol. 3A, 4.5): PML4E, PDPTE (a 1 GiB page when PS is set and the model has Page1GB), PDE
    /// (a 2 MiB page when PS is set), PTE. U/S and R/W combine over every level (4.6.1); XD in any level forbids fetches
    /// with EFER.NXE (4.6.2). A present entry with a reserved bit set (bits 51:MAXPHYADDR, XD without NXE, PS in a PML4E,
    /// PS in a PDPTE without Page1GB, bits 29:13 of a 1 GiB PDPTE, bits 20:13 of a 2 MiB PDE) is a #PF with P and RSVD
    /// (4.7), found level by level as the walk reaches it. Bits 62:52 are ignored. The accessed bits of every entry used,
    /// and the dirty bit of the final one on writes, are set only when the access is allowed (4.8).
    /// </summary>
    /// <param name="linear">The linear address (bits 47:0 used).</param>
    /// <param name="write">A write access.</param>
    /// <param name="fetch">An instruction fetch.</param>
    /// <param name="user">A user-mode access (CPL 3 and not an implicit supervisor access).</param>
    /// <param name="setAccessed">False for a side-effect-free look-up (debuggers).</param>
    /// <param name="physical">The physical address on success.</param>
    /// <returns>-1 on success, else the #PF error code.</returns>
    private int Walk4Level(ulong linear, bool write, bool fetch, bool user, bool setAccessed, out ulong physical)
    {
        physical = 0;
        bool nxe = (Ctx.Efer & EferBits.Nxe) != 0;
        int baseError = (write ? PfWrite : 0) | (user ? PfUser : 0) | (fetch && nxe ? PfInstructionFetch : 0);
        ulong reserved = _addressReserved | (nxe ? 0 : PteExecuteDisable);
        ulong table = Ctx.Cr3 & _frameMask;
        ulong rights = PteUser | PteWritable;
        ulong executeDisable = 0;
        Span<ulong> addresses = stackalloc ulong[4];
        Span<ulong> entries = stackalloc ulong[4];
        int shift = Pml4Shift;
        int level = 0;
        bool large;
        while (true)
        {
            ulong address = table + (((linear >> shift) & LevelIndexMask) * EntrySizeInBytes);
            ulong entry = _memory.ReadQuadWord(new PhysicalAddress(address));
            if ((entry & PtePresent) == 0)
            {
                return baseError;
            }

            // PS means a page only in a PDPTE (1 GiB, if the model has them) and a PDE (2 MiB); in a PML4E it is reserved.
            large = (entry & PteLargePage) != 0 && level is 1 or 2;
            ulong levelReserved = level switch
            {
                0 => PteLargePage,
                1 when large => _hugePages ? HugePageReserved : PteLargePage,
                2 when large => PaeLargePageReserved,
                _ => 0,
            };
            if ((entry & (reserved | levelReserved)) != 0)
            {
                return baseError | PfProtection | PfReserved;
            }

            addresses[level] = address;
            entries[level] = entry;
            rights &= entry;
            executeDisable |= entry & PteExecuteDisable;
            if (large || level == 3)
            {
                break;
            }

            table = entry & _frameMask;
            shift -= LevelIndexBits;
            level++;
        }

        if (!AccessAllowed(rights, write, user) || (fetch && nxe && executeDisable != 0))
        {
            return baseError | PfProtection;
        }

        if (setAccessed)
        {
            // Accessed and dirty bits live in the low doubleword; write only that half, as a locked OR would change it.
            for (int i = 0; i <= level; i++)
            {
                ulong set = PteAccessed | (i == level && write ? PteDirty : 0);
                if ((entries[i] & set) != set)
                {
                    _memory.WriteDoubleWord(new PhysicalAddress(addresses[i]), (uint)(entries[i] | set));
                }
            }

            _holdsLargePages |= large;
        }

        ulong offsetMask = (1UL << shift) - 1;
        physical = (entries[level] & _frameMask & ~offsetMask) | (linear & offsetMask);
        return -1;
    }

    /// <summary>
    /// A load of CR3 (MOV to CR3; the new value is already in CR3): drops every cached translation unless CR4.PCIDE is set,
    /// the source had bit 63 set and the PCID stays the same (Intel SDM Vol. 3A, 4.10.4.1).
    /// </summary>
    /// <param name="previousCr3">CR3 before the load.</param>
    /// <param name="noFlush">Bit 63 of the source operand was set (only meaningful with CR4.PCIDE).</param>
    /// <remarks>
    /// The TLB holds the translations of the current PCID only: a switch to another PCID flushes everything, including what
    /// the new PCID may have left cached earlier. The SDM allows a processor to drop any entry at any time (4.10.4.4 lists
    /// what software may rely on being flushed, never what must stay), so this is never wrong; it keeps the TLB at its size
    /// and the access fast path at one tag compare, at the cost of refilling after each address-space switch.
    /// </remarks>
    public void OnCr3Load(ulong previousCr3, bool noFlush)
    {
        bool pcide = (Ctx.Cr4 & Cr4Bits.Pcide) != 0;
        if (!pcide || !noFlush || ((previousCr3 ^ Ctx.Cr3) & Cr3PcidMask) != 0)
        {
            Flush();
        }
    }

    /// <summary>
    /// INVPCID after its checks (Intel SDM Vol. 2B, INVPCID): type 0 drops the translation of one linear address for one
    /// PCID, type 1 every translation of one PCID, types 2 and 3 every translation. Only the current PCID's translations
    /// are ever cached (see <see cref="OnCr3Load"/>), so types 0 and 1 for another PCID have nothing to drop; global
    /// translations are not kept apart, so dropping them too (types 0 and 3) is what a smaller TLB would do.
    /// </summary>
    /// <param name="type">0-3.</param>
    /// <param name="pcid">The descriptor's PCID (bits 11:0).</param>
    /// <param name="linear">The descriptor's linear address (type 0).</param>
    public void InvalidatePcid(int type, ulong pcid, LinearAddress linear)
    {
        switch (type)
        {
            case 0:
                if (pcid == CurrentPcid)
                {
                    InvalidateLinearPage(linear);
                }

                break;
            case 1:
                if (pcid == CurrentPcid)
                {
                    Flush();
                }

                break;
            default:
                Flush();
                break;
        }
    }

    /// <summary>32-bit paging (Intel SDM Vol. 3A, 4.3): 4 KiB pages, and 4 MiB pages with CR4.PSE.</summary>
    private int Walk32(uint linear, bool write, out uint physical)
    {
        physical = 0;
        bool user = Ctx.Cpl == 3 && !SupervisorAccess;
        int baseError = (write ? PfWrite : 0) | (user ? PfUser : 0);
        var pdeAddress = new PhysicalAddress((uint)(Ctx.Cr3 & 0xFFFF_F000) | ((linear >> 22) << 2));
        uint pde = _memory.ReadDoubleWord(pdeAddress);
        if ((pde & PtePresent) == 0)
        {
            return baseError;
        }

        bool large = (pde & PteLargePage) != 0 && (Ctx.Cr4 & Cr4Bits.Pse) != 0;
        uint pte = 0;
        PhysicalAddress pteAddress = default;
        uint rights = pde;
        if (!large)
        {
            pteAddress = new PhysicalAddress((pde & 0xFFFF_F000) | (((linear >> 12) & 0x3FF) << 2));
            pte = _memory.ReadDoubleWord(pteAddress);
            if ((pte & PtePresent) == 0)
            {
                return baseError;
            }

            rights &= pte;
        }

        if (!AccessAllowed(rights, write, user))
        {
            return baseError | PfProtection;
        }

        if ((pde & PteAccessed) == 0 || (large && write && (pde & PteDirty) == 0))
        {
            pde |= PteAccessed | (large && write ? PteDirty : 0);
            _memory.WriteDoubleWord(pdeAddress, pde);
        }

        if (large)
        {
            _holdsLargePages = true;
            physical = (pde & 0xFFC0_0000) | (linear & 0x003F_FFFF);
            return -1;
        }

        if ((pte & PteAccessed) == 0 || (write && (pte & PteDirty) == 0))
        {
            pte |= PteAccessed | (write ? PteDirty : 0);
            _memory.WriteDoubleWord(pteAddress, pte);
        }

        physical = (pte & 0xFFFF_F000) | (linear & 0xFFF);
        return -1;
    }

    /// <summary>
    /// The PAE walk: PDPTE (cached at the CR3 load), PDE, then PTE or a 2 MiB page. U/S and R/W combine over the PDE and PTE
    /// (PDPTEs have neither); execute-disable in any level forbids fetches when EFER.NXE is set. A reserved bit set in a
    /// present entry is a #PF with P and RSVD set (Intel SDM Vol. 3A, 4.4.2 and 4.7).
    /// </summary>
    private int WalkPae(uint linear, bool write, bool fetch, out ulong physical)
    {
        physical = 0;
        bool user = Ctx.Cpl == 3 && !SupervisorAccess;
        bool nxe = (Ctx.Efer & EferBits.Nxe) != 0;
        int baseError = (write ? PfWrite : 0) | (user ? PfUser : 0) | (fetch && nxe ? PfInstructionFetch : 0);
        ulong pdpte = Ctx.Pdpte[linear >> 30];
        if ((pdpte & PtePresent) == 0)
        {
            return baseError;
        }

        ulong reserved = PaeEntryReserved;
        var pdeAddress = new PhysicalAddress((pdpte & _frameMask) + (((linear >> 21) & 0x1FF) * 8));
        ulong pde = _memory.ReadQuadWord(pdeAddress);
        if ((pde & PtePresent) == 0)
        {
            return baseError;
        }

        // With PAE the PS bit is honoured whatever CR4.PSE says (Intel SDM Vol. 3A, 4.4.2).
        bool large = (pde & PteLargePage) != 0;
        if ((pde & (large ? reserved | PaeLargePageReserved : reserved)) != 0)
        {
            return baseError | PfProtection | PfReserved;
        }

        ulong pte = 0;
        PhysicalAddress pteAddress = default;
        ulong rights = pde;
        ulong executeDisable = pde & PteExecuteDisable;
        if (!large)
        {
            pteAddress = new PhysicalAddress((pde & _frameMask) + (((linear >> 12) & 0x1FF) * 8));
            pte = _memory.ReadQuadWord(pteAddress);
            if ((pte & PtePresent) == 0)
            {
                return baseError;
            }

            if ((pte & reserved) != 0)
            {
                return baseError | PfProtection | PfReserved;
            }

            rights &= pte;
            executeDisable |= pte & PteExecuteDisable;
        }

        if (!AccessAllowed(rights, write, user) || (fetch && nxe && executeDisable != 0))
        {
            return baseError | PfProtection;
        }

        // Accessed and dirty bits live in the low doubleword; write only that half, as a locked OR would change it.
        if ((pde & PteAccessed) == 0 || (large && write && (pde & PteDirty) == 0))
        {
            pde |= PteAccessed | (large && write ? PteDirty : 0);
            _memory.WriteDoubleWord(pdeAddress, (uint)pde);
        }

        if (large)
        {
            _holdsLargePages = true;
            physical = (pde & (_frameMask & ~LargePageOffsetMask)) | (linear & 0x1F_FFFF);
            return -1;
        }

        if ((pte & PteAccessed) == 0 || (write && (pte & PteDirty) == 0))
        {
            pte |= PteAccessed | (write ? PteDirty : 0);
            _memory.WriteDoubleWord(pteAddress, (uint)pte);
        }

        physical = (pte & _frameMask) | (linear & 0xFFF);
        return -1;
    }

    /// <summary>
    /// Intel SDM Vol. 3A, 4.6.1: user accesses need U/S in every level; writes need R/W in every level, for supervisor
    /// accesses only when CR0.WP is set. Instruction fetches are reads (execute-disable is checked by the PAE walk).
    /// </summary>
    private bool AccessAllowed(ulong rights, bool write, bool user) =>
        !((user && (rights & PteUser) == 0) || (write && (rights & PteWritable) == 0 && (user || (Ctx.Cr0 & Cr0Bits.Wp) != 0)));

    /// <summary>
    /// Loads the PDPTE registers from the 32-byte table CR3 points to, as MOV to CR3 (and to CR0/CR4 when they enable PAE
    /// paging) does (Intel SDM Vol. 3A, 4.4.1). With <paramref name="check"/>, returns false when a present entry sets a
    /// reserved bit; the instruction then raises #GP(0) and the registers keep their values.
    /// </summary>
    public bool LoadPdptes(ulong cr3, bool check = true)
    {
        Span<ulong> entries = stackalloc ulong[4];
        ulong table = cr3 & 0xFFFF_FFE0;
        for (int i = 0; i < 4; i++)
        {
            entries[i] = _memory.ReadQuadWord(new PhysicalAddress(table + ((ulong)i * 8)));
            if (check && (entries[i] & PtePresent) != 0 && (entries[i] & _pdpteReserved) != 0)
            {
                return false;
            }
        }

        entries.CopyTo(Ctx.Pdpte);
        return true;
    }

    /// <summary>Host writes of CR0/CR3/CR4 (and snapshot restores) load the PDPTEs without the #GP check an instruction makes.</summary>
    public void ReloadPdptesForHost()
    {
        if (PagingEnabled && UsesPdptes)
        {
            LoadPdptes(Ctx.Cr3, check: false);
        }
    }

    /// <summary>32-bit paging walk without side effects (Intel SDM Vol. 3A, 4.3).</summary>
    private bool Peek32(uint linear, out ulong physical)
    {
        physical = 0;
        uint pde = _memory.ReadDoubleWord(new PhysicalAddress((uint)(Ctx.Cr3 & 0xFFFF_F000) | ((linear >> 22) << 2)));
        if ((pde & PtePresent) == 0)
        {
            return false;
        }

        if ((pde & PteLargePage) != 0 && (Ctx.Cr4 & Cr4Bits.Pse) != 0)
        {
            physical = (pde & 0xFFC0_0000) | (linear & 0x003F_FFFF);
            return true;
        }

        uint pte = _memory.ReadDoubleWord(new PhysicalAddress((pde & 0xFFFF_F000) | (((linear >> 12) & 0x3FF) << 2)));
        if ((pte & PtePresent) == 0)
        {
            return false;
        }

        physical = (pte & 0xFFFF_F000) | (linear & 0xFFF);
        return true;
    }

    /// <summary>PAE paging walk without side effects (Intel SDM Vol. 3A, 4.4), using the PDPTE registers as loaded.</summary>
    private bool PeekPae(uint linear, out ulong physical)
    {
        physical = 0;
        ulong pdpte = Ctx.Pdpte[linear >> 30];
        if ((pdpte & PtePresent) == 0)
        {
            return false;
        }

        ulong reserved = PaeEntryReserved;
        ulong pde = _memory.ReadQuadWord(new PhysicalAddress((pdpte & _frameMask) + (((linear >> 21) & 0x1FF) * 8)));
        if ((pde & PtePresent) == 0)
        {
            return false;
        }

        if ((pde & PteLargePage) != 0)
        {
            if ((pde & (reserved | PaeLargePageReserved)) != 0)
            {
                return false;
            }

            physical = (pde & (_frameMask & ~LargePageOffsetMask)) | (linear & 0x1F_FFFF);
            return true;
        }

        ulong pte = _memory.ReadQuadWord(new PhysicalAddress((pde & _frameMask) + (((linear >> 12) & 0x1FF) * 8)));
        if ((pte & PtePresent) == 0 || ((pde | pte) & reserved) != 0)
        {
            return false;
        }

        physical = (pte & _frameMask) | (linear & 0xFFF);
        return true;
    }

    /// <summary>
    /// Runs the page walk for one access as a user- or supervisor-mode access (for tests and diagnostics): the physical
    /// address, or the #PF error code the access would raise. Sets accessed and dirty bits as the access would.
    /// </summary>
    public int TranslateForTest(ulong linear, bool write, bool user, out ulong physical, bool fetch = false)
    {
        int savedCpl = Ctx.Cpl;
        Ctx.Cpl = user ? 3 : 0;
        int error = Walk(linear, write, fetch, out physical);
        Ctx.Cpl = savedCpl;
        return error;
    }
}
