using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// PAE paging (Intel SDM Vol. 3A, 4.4): CR4.PAE, the four PDPTE registers loaded from CR3, 64-bit page-directory and
/// page-table entries, 2 MiB pages, reserved-bit checks, and execute-disable with IA32_EFER.NXE (4.6.2). The physical
/// address width is 36 bits, as on P6-family processors with PAE (CPUID leaf 80000008h is not reported).
/// </summary>
public sealed partial class Cpu
{
    private const uint MsrEfer = 0xC000_0080;

    // Page-fault error code bits for reserved-bit violations and instruction fetches (Intel SDM Vol. 3A, 4.7).
    private const int PfReserved = 8;
    private const int PfInstructionFetch = 16;

    private const int PhysicalAddressBits = 36;
    private const ulong PaeFrameMask = ((1UL << PhysicalAddressBits) - 1) & ~0xFFFUL;
    private const ulong PaeLargeFrameMask = ((1UL << PhysicalAddressBits) - 1) & ~0x1F_FFFFUL;
    private const ulong PteExecuteDisable = 1UL << 63;

    // Bits 62:36 of every PAE entry are reserved (bits 51:36 above MAXPHYADDR; 62:52 are reserved outside 4-level paging).
    private const ulong PaeHighReserved = 0x7FFF_FFF0_0000_0000;

    // A PDPTE reserves bits 2:1 and 8:5 as well (Intel SDM Vol. 3A, 4.4.1, Table 4-8), and bit 63 (no XD in PDPTEs).
    private const ulong PdpteReserved = PaeHighReserved | 0x8000_0000_0000_0000 | 0x1E6;

    // A 2 MiB PDE reserves bits 20:13 (Intel SDM Vol. 3A, Table 4-9).
    private const ulong PaeLargePageReserved = 0x1F_E000;

    /// <summary>IA32_EFER: only NXE (bit 11) is implemented; there is no long mode and no SYSCALL.</summary>
    public ulong Efer => _ctx.Efer;

    /// <summary>The four page-directory-pointer-table entries as last loaded from CR3 (PAE paging).</summary>
    /// <param name="index">0-3.</param>
    /// <returns>The PDPTE.</returns>
    public ulong GetPdpte(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, 3);
        return _ctx.Pdpte[index];
    }

    private bool IsPaeMode => (_ctx.Cr4 & Cr4Bits.Pae) != 0;

    /// <summary>Bits 63 (when NXE is clear) and 62:36 of a PDE or PTE must be zero.</summary>
    private ulong PaeEntryReserved => PaeHighReserved | ((_ctx.Efer & EferBits.Nxe) == 0 ? PteExecuteDisable : 0);

    /// <summary>
    /// Loads the PDPTE registers from the 32-byte table CR3 points to, as MOV to CR3 (and to CR0/CR4 when they enable PAE
    /// paging) does (Intel SDM Vol. 3A, 4.4.1). With <paramref name="check"/>, returns false when a present entry sets a
    /// reserved bit; the instruction then raises #GP(0) and the registers keep their values.
    /// </summary>
    private bool LoadPdptes(ulong cr3, bool check = true)
    {
        Span<ulong> entries = stackalloc ulong[4];
        ulong table = cr3 & 0xFFFF_FFE0;
        for (int i = 0; i < 4; i++)
        {
            entries[i] = _memory.ReadQuadWord(new PhysicalAddress(table + ((ulong)i * 8)));
            if (check && (entries[i] & PtePresent) != 0 && (entries[i] & PdpteReserved) != 0)
            {
                return false;
            }
        }

        entries.CopyTo(_ctx.Pdpte);
        return true;
    }

    /// <summary>Host writes of CR0/CR3/CR4 (and snapshot restores) load the PDPTEs without the #GP check an instruction makes.</summary>
    private void ReloadPdptesForHost()
    {
        if (PagingEnabled && IsPaeMode)
        {
            LoadPdptes(_ctx.Cr3, check: false);
        }
    }

    /// <summary>Writes IA32_EFER: NXE only; any other bit is #GP(0) (LME and SCE need long mode, which is not implemented).</summary>
    private bool TryWriteEfer(ulong value)
    {
        if ((value & ~EferBits.Nxe) != 0)
        {
            return false;
        }

        if (value != _ctx.Efer)
        {
            _ctx.Efer = value;
            FlushTlb();
        }

        return true;
    }

    /// <summary>
    /// The PAE walk: PDPTE (cached at the CR3 load), PDE, then PTE or a 2 MiB page. U/S and R/W combine over the PDE and PTE
    /// (PDPTEs have neither); execute-disable in any level forbids fetches when EFER.NXE is set. A reserved bit set in a
    /// present entry is a #PF with P and RSVD set (Intel SDM Vol. 3A, 4.4.2 and 4.7).
    /// </summary>
    private int WalkPae(uint linear, bool write, bool fetch, out ulong physical)
    {
        physical = 0;
        bool user = _ctx.Cpl == 3 && !_supervisorAccess;
        bool nxe = (_ctx.Efer & EferBits.Nxe) != 0;
        int baseError = (write ? PfWrite : 0) | (user ? PfUser : 0) | (fetch && nxe ? PfInstructionFetch : 0);
        ulong pdpte = _ctx.Pdpte[linear >> 30];
        if ((pdpte & PtePresent) == 0)
        {
            return baseError;
        }

        ulong reserved = PaeEntryReserved;
        var pdeAddress = new PhysicalAddress((pdpte & PaeFrameMask) + (((linear >> 21) & 0x1FF) * 8));
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
            pteAddress = new PhysicalAddress((pde & PaeFrameMask) + (((linear >> 12) & 0x1FF) * 8));
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
            _tlbHoldsLargePages = true;
            physical = (pde & PaeLargeFrameMask) | (linear & 0x1F_FFFF);
            return -1;
        }

        if ((pte & PteAccessed) == 0 || (write && (pte & PteDirty) == 0))
        {
            pte |= PteAccessed | (write ? PteDirty : 0);
            _memory.WriteDoubleWord(pteAddress, (uint)pte);
        }

        physical = (pte & PaeFrameMask) | (linear & 0xFFF);
        return -1;
    }
}
