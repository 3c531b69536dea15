using Virt.Cpu.Decoding;
using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// The CPU's side of address translation: data and fetch translation through the MMU (Paging/Mmu.cs) with #PF delivery
/// (CR2 and the error code, Intel SDM Vol. 3A, 4.7), the fetch-fault pseudo-instruction, implicit supervisor accesses, and
/// the public view of EFER and the PDPTEs.
/// </summary>
public sealed partial class Cpu
{
    private const uint MsrEfer = 0xC000_0080;

    private readonly DecodedBlock _fetchFaultBlock = CreateFetchFaultBlock();


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
        if (!_mmu.PagingEnabled)
        {
            physical = new PhysicalAddress(linear);
            return true;
        }

        int error = _mmu.Walk(linear, write, fetch: false, out ulong result);
        if (error >= 0)
        {
            if (!_faulted)
            {
                // CR2 holds the whole linear address: 32 bits outside IA-32e mode (callers pass them zero-extended), 64 in it.
                _ctx.Cr2 = linear;
            }

            RaiseFault(VectorPageFault, error);
            physical = default;
            return false;
        }

        physical = new PhysicalAddress(result);
        return true;
    }

    /// <summary>Raised by the pseudo-instruction that stands for an instruction whose bytes could not be fetched.</summary>
    private void ExecuteFetchFault()
    {
        if (!_faulted)
        {
            _ctx.Cr2 = _decoder.FetchFaultLinear;
        }

        RaiseFault(VectorPageFault, _decoder.FetchFaultError);
    }

    /// <summary>An implicit supervisor-mode read (descriptor tables, TSS), whatever the CPL (Intel SDM Vol. 3A, 4.6).</summary>
    private ulong ReadSystem(ulong linear, int size)
    {
        bool saved = _mmu.SupervisorAccess;
        _mmu.SupervisorAccess = true;
        ulong value = ReadLinear(linear, size);
        _mmu.SupervisorAccess = saved;
        return value;
    }

    /// <summary>An implicit supervisor-mode write (accessed and busy bits).</summary>
    private void WriteSystem(ulong linear, int size, ulong value)
    {
        bool saved = _mmu.SupervisorAccess;
        _mmu.SupervisorAccess = true;
        WriteLinear(linear, size, value);
        _mmu.SupervisorAccess = saved;
    }

    /// <summary>
    /// The next linear address of a page-crossing access done byte by byte: wraps at 4 GiB outside IA-32e mode (Intel SDM
    /// Vol. 3A, 3.4: linear addresses are 32 bits); in it, the address is the 64-bit sum (the segment code checks canonical
    /// form of the whole access before it starts, Vol. 3A, 3.3.7.1).
    /// </summary>
    private ulong NextLinear(ulong linear, int bytes) =>
        (_ctx.Efer & EferBits.Lma) != 0 ? unchecked(linear + (ulong)bytes) : (uint)(linear + (ulong)bytes);

    /// <summary>A change of CPL between user and supervisor changes what the TLB may hand out: flush it under paging.</summary>
    private void OnPrivilegeChange(int newCpl)
    {
        if (_mmu.PagingEnabled && (newCpl == 3) != (_ctx.Cpl == 3))
        {
            _mmu.Flush();
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
        ulong nextPage = NextLinear(linear | PageMask, 1);
        PhysicalAddress physical = _memory.ApplyA20(_decoder.TranslateFetch(nextPage));
        if (_decoder.FetchFaultPending)
        {
            _decoder.FetchFaultPending = false;
            return false;
        }

        return physical.Value >> PageShift == block.Page1;
    }

    /// <summary>
    /// Runs the page walk for one access as a user- or supervisor-mode access (for tests and diagnostics): the physical
    /// address, or the #PF error code the access would raise. Sets accessed and dirty bits as the access would.
    /// </summary>
    internal int TranslateForTest(ulong linear, bool write, bool user, out ulong physical, bool fetch = false) =>
        _mmu.TranslateForTest(linear, write, user, out physical, fetch);

    /// <summary>
    /// A data read through the TLB, as an instruction's operand read makes it (for tests of the TLB's contents): the value,
    /// or the fault it would raise (vector -1 when none; CR2 is set as for the instruction). The fault is not delivered.
    /// </summary>
    internal ulong ReadLinearForTest(ulong linear, int size, out int faultVector, out int faultErrorCode)
    {
        ulong value = ReadLinear(linear, size);
        faultVector = _faulted ? _faultVector : -1;
        faultErrorCode = _faulted ? _faultErrorCode : 0;
        _faulted = false;
        return value;
    }

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

    /// <summary>Writes IA32_EFER: NXE only; any other bit is #GP(0) (LME and SCE need long mode, which is not implemented).</summary>
    private bool TryWriteEfer(ulong value)
    {
        if ((value & ~(EferWritable | EferBits.Lma)) != 0)
        {
            return false;
        }

        if (value != _ctx.Efer)
        {
            _ctx.Efer = value;
            _mmu.Flush();
        }

        return true;
    }
}
