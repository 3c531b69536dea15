using Virt.Cpu.Decoding;
using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// 32-bit paging with 4 KiB pages and 4 MiB pages (CR4.PSE): the page walk, access rights (U/S, R/W, CR0.WP), accessed and
/// dirty bits, and #PF with CR2 and the error code (Intel SDM Vol. 3A, 4.3, 4.6, 4.7, 4.8). The software TLB caches the
/// result of successful walks per linear page; it is flushed on CR0/CR3/CR4 writes, INVLPG and privilege changes.
/// </summary>
public sealed partial class Cpu
{
    private const uint PtePresent = 1;
    private const uint PteWritable = 2;
    private const uint PteUser = 4;
    private const uint PteAccessed = 0x20;
    private const uint PteDirty = 0x40;
    private const uint PteLargePage = 0x80;

    // Page-fault error code bits (Intel SDM Vol. 3A, 4.7, Figure 4-12).
    private const int PfProtection = 1;
    private const int PfWrite = 2;
    private const int PfUser = 4;

    private readonly DecodedBlock _fetchFaultBlock = CreateFetchFaultBlock();

    // Instruction-fetch translations (linear page + 1 -> physical page), flushed with the data TLB.
    private readonly ulong[] _tlbFetchTag = new ulong[TlbEntries];
    private readonly ulong[] _tlbFetchPage = new ulong[TlbEntries];
    private bool _supervisorAccess;
    private bool _fetchFaultPending;
    private uint _fetchFaultLinear;
    private int _fetchFaultError;

    private bool PagingEnabled => (_ctx.Cr0 & (Cr0Bits.Pg | Cr0Bits.Pe)) == (Cr0Bits.Pg | Cr0Bits.Pe);

    private static DecodedBlock CreateFetchFaultBlock()
    {
        var block = new DecodedBlock(1);
        block.Instructions[0].Op = Op.FetchFault;
        block.Instructions[0].EndsBlock = true;
        block.Count = 1;
        block.Valid = false;
        return block;
    }

    /// <summary>The linear-to-physical translation point for data accesses; false with a pending #PF.</summary>
    private bool TranslateData(ulong linear, bool write, out PhysicalAddress physical)
    {
        if (!PagingEnabled)
        {
            physical = new PhysicalAddress(linear);
            return true;
        }

        int error = Walk((uint)linear, write, fetch: false, out ulong result);
        if (error >= 0)
        {
            if (!_faulted)
            {
                _ctx.Cr2 = (uint)linear;
            }

            RaiseFault(VectorPageFault, error);
            physical = default;
            return false;
        }

        physical = new PhysicalAddress(result);
        return true;
    }

    /// <summary>Translation for instruction fetch: on a fault it records a pending fetch fault and returns address 0.</summary>
    private PhysicalAddress TranslateLinear(ulong linear)
    {
        if (!PagingEnabled)
        {
            return new PhysicalAddress(linear);
        }

        ulong page = (uint)linear >> PageShift;
        int slot = (int)page & (TlbEntries - 1);
        if (_tlbFetchTag[slot] == page + 1)
        {
            return new PhysicalAddress((_tlbFetchPage[slot] << PageShift) | ((uint)linear & PageMask));
        }

        int error = Walk((uint)linear, write: false, fetch: true, out ulong result);
        if (error < 0)
        {
            _tlbFetchTag[slot] = page + 1;
            _tlbFetchPage[slot] = result >> PageShift;
        }
        else
        {
            if (!_fetchFaultPending)
            {
                _fetchFaultPending = true;
                _fetchFaultLinear = (uint)linear;
                _fetchFaultError = error;
            }

            return new PhysicalAddress(0);
        }

        return new PhysicalAddress(result);
    }

    /// <summary>Raised by the pseudo-instruction that stands for an instruction whose bytes could not be fetched.</summary>
    private void ExecuteFetchFault()
    {
        if (!_faulted)
        {
            _ctx.Cr2 = _fetchFaultLinear;
        }

        RaiseFault(VectorPageFault, _fetchFaultError);
    }

    /// <summary>
    /// The page walk for the current paging mode. Returns -1 and the physical address on success, or the #PF error code.
    /// Sets the accessed bits, and the dirty bit on writes, only on success.
    /// </summary>
    private int Walk(uint linear, bool write, bool fetch, out ulong physical)
    {
        if ((_ctx.Cr4 & Cr4Bits.Pae) != 0)
        {
            return WalkPae(linear, write, fetch, out physical);
        }

        int error = Walk32(linear, write, out uint result);
        physical = result;
        return error;
    }

    /// <summary>32-bit paging (Intel SDM Vol. 3A, 4.3): 4 KiB pages, and 4 MiB pages with CR4.PSE.</summary>
    private int Walk32(uint linear, bool write, out uint physical)
    {
        physical = 0;
        bool user = _ctx.Cpl == 3 && !_supervisorAccess;
        int baseError = (write ? PfWrite : 0) | (user ? PfUser : 0);
        var pdeAddress = new PhysicalAddress((uint)(_ctx.Cr3 & 0xFFFF_F000) | ((linear >> 22) << 2));
        uint pde = _memory.ReadDoubleWord(pdeAddress);
        if ((pde & PtePresent) == 0)
        {
            return baseError;
        }

        bool large = (pde & PteLargePage) != 0 && (_ctx.Cr4 & Cr4Bits.Pse) != 0;
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
            _tlbHoldsLargePages = true;
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
    /// Intel SDM Vol. 3A, 4.6.1: user accesses need U/S in every level; writes need R/W in every level, for supervisor
    /// accesses only when CR0.WP is set. Instruction fetches are reads (execute-disable is checked by the PAE walk).
    /// </summary>
    private bool AccessAllowed(ulong rights, bool write, bool user) =>
        !((user && (rights & PteUser) == 0) || (write && (rights & PteWritable) == 0 && (user || (_ctx.Cr0 & Cr0Bits.Wp) != 0)));

    /// <summary>An implicit supervisor-mode read (descriptor tables, TSS), whatever the CPL (Intel SDM Vol. 3A, 4.6).</summary>
    private ulong ReadSystem(ulong linear, int size)
    {
        bool saved = _supervisorAccess;
        _supervisorAccess = true;
        ulong value = ReadLinear(linear, size);
        _supervisorAccess = saved;
        return value;
    }

    /// <summary>An implicit supervisor-mode write (accessed and busy bits).</summary>
    private void WriteSystem(ulong linear, int size, ulong value)
    {
        bool saved = _supervisorAccess;
        _supervisorAccess = true;
        WriteLinear(linear, size, value);
        _supervisorAccess = saved;
    }

    /// <summary>A change of CPL between user and supervisor changes what the TLB may hand out: flush it under paging.</summary>
    private void OnPrivilegeChange(int newCpl)
    {
        if (PagingEnabled && (newCpl == 3) != (_ctx.Cpl == 3))
        {
            FlushTlb();
        }
    }

    /// <summary>
    /// Whether the linear page after a page-crossing block's first byte still maps to the physical page the block's bytes
    /// continue on. That is the right page for any CS:IP reaching the block: a cached block's bytes never wrap around the
    /// code segment's offset space (see DecodeInto), and the run loop decodes afresh an entry where they would
    /// (FitBlockToCodeSegment).
    /// </summary>
    private bool SecondPageStillMapped(DecodedBlock block, ulong linear)
    {
        ulong nextPage = (uint)(((linear >> PageShift) + 1) << PageShift);
        PhysicalAddress physical = _memory.ApplyA20(TranslateLinear(nextPage));
        if (_fetchFaultPending)
        {
            _fetchFaultPending = false;
            return false;
        }

        return physical.Value >> PageShift == block.Page1;
    }

    /// <summary>
    /// Runs the page walk for one access as a user- or supervisor-mode access (for tests and diagnostics): the physical
    /// address, or the #PF error code the access would raise. Sets accessed and dirty bits as the access would.
    /// </summary>
    internal int TranslateForTest(uint linear, bool write, bool user, out ulong physical, bool fetch = false)
    {
        int savedCpl = _ctx.Cpl;
        _ctx.Cpl = user ? 3 : 0;
        int error = Walk(linear, write, fetch, out physical);
        _ctx.Cpl = savedCpl;
        return error;
    }
}
