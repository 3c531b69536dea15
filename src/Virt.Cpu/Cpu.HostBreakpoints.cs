using System.Runtime.CompilerServices;
using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// Host (debugger) instruction breakpoints and a side-effect-free linear-address translation, for a gdb stub or a test
/// harness. Unlike DR0-DR3 these are invisible to the guest: no #DB, no DR6 bits, no guest memory written (a debugger
/// that wrote INT3 into guest code would be seen by checksums and self-modifying code).
/// </summary>
/// <remarks>
/// Cost when none is set: nothing. The run loop already branches at each block entry on <c>_debugSlowPath</c> (for the
/// guest's own DR7 breakpoints); a host breakpoint keeps that flag set, so the loop executes one instruction per iteration
/// and <see cref="BeginDebugInstruction"/> compares CS.base + EIP with the set before each.
/// </remarks>
public sealed partial class Cpu
{
    private readonly HashSet<uint> _hostBreakpoints = [];
    private bool _hostBreakpointsArmed;

    // Set when Run returned StopReason.Breakpoint: the next instruction boundary does not stop again at that address, so
    // a debugger can continue or step from a breakpoint without removing it first.
    private bool _hostBreakpointResume;
    private uint _hostBreakpointResumeAddress;

    /// <summary>The linear addresses of the host instruction breakpoints.</summary>
    public IReadOnlyCollection<uint> HostBreakpoints => _hostBreakpoints;

    /// <summary>
    /// Adds a host instruction breakpoint: <see cref="Run"/> returns <see cref="StopReason.Breakpoint"/> before executing an
    /// instruction whose first byte (prefixes included) is at <paramref name="linearAddress"/> (CS.base + EIP). The guest
    /// does not see it.
    /// </summary>
    /// <param name="linearAddress">The linear address.</param>
    /// <returns>False when a breakpoint was already set there.</returns>
    public bool AddHostBreakpoint(uint linearAddress)
    {
        bool added = _hostBreakpoints.Add(linearAddress);
        UpdateHostBreakpoints();
        return added;
    }

    /// <summary>Removes a host instruction breakpoint.</summary>
    /// <param name="linearAddress">The linear address.</param>
    /// <returns>False when none was set there.</returns>
    public bool RemoveHostBreakpoint(uint linearAddress)
    {
        bool removed = _hostBreakpoints.Remove(linearAddress);
        UpdateHostBreakpoints();
        return removed;
    }

    /// <summary>Removes every host instruction breakpoint.</summary>
    public void ClearHostBreakpoints()
    {
        _hostBreakpoints.Clear();
        _hostBreakpointResume = false;
        UpdateHostBreakpoints();
    }

    /// <summary>
    /// Translates a linear address as the current paging mode would for a supervisor read, without setting accessed or
    /// dirty bits, filling the TLB or raising a fault (for debuggers and diagnostics). A20 masking is applied.
    /// </summary>
    /// <param name="linear">The linear address (above 4 GiB never translates: there is no long mode).</param>
    /// <param name="physical">The physical address when the result is true.</param>
    /// <returns>False when the address is beyond 4 GiB or its page is not present (a reserved bit set in a present entry counts as not present).</returns>
    public bool TryTranslateLinear(ulong linear, out PhysicalAddress physical)
    {
        physical = default;
        if (linear > uint.MaxValue)
        {
            return false;
        }

        uint address = (uint)linear;
        ulong result;
        if (!PagingEnabled)
        {
            result = address;
        }
        else if ((_ctx.Cr4 & Cr4Bits.Pae) != 0)
        {
            if (!PeekPae(address, out result))
            {
                return false;
            }
        }
        else if (!Peek32(address, out result))
        {
            return false;
        }

        physical = _memory.ApplyA20(new PhysicalAddress(result));
        return true;
    }

    /// <summary>32-bit paging walk without side effects (Intel SDM Vol. 3A, 4.3).</summary>
    private bool Peek32(uint linear, out ulong physical)
    {
        physical = 0;
        uint pde = _memory.ReadDoubleWord(new PhysicalAddress((uint)(_ctx.Cr3 & 0xFFFF_F000) | ((linear >> 22) << 2)));
        if ((pde & PtePresent) == 0)
        {
            return false;
        }

        if ((pde & PteLargePage) != 0 && (_ctx.Cr4 & Cr4Bits.Pse) != 0)
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
        ulong pdpte = _ctx.Pdpte[linear >> 30];
        if ((pdpte & PtePresent) == 0)
        {
            return false;
        }

        ulong reserved = PaeEntryReserved;
        ulong pde = _memory.ReadQuadWord(new PhysicalAddress((pdpte & PaeFrameMask) + (((linear >> 21) & 0x1FF) * 8)));
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

            physical = (pde & PaeLargeFrameMask) | (linear & 0x1F_FFFF);
            return true;
        }

        ulong pte = _memory.ReadQuadWord(new PhysicalAddress((pde & PaeFrameMask) + (((linear >> 12) & 0x1FF) * 8)));
        if ((pte & PtePresent) == 0 || ((pde | pte) & reserved) != 0)
        {
            return false;
        }

        physical = (pte & PaeFrameMask) | (linear & 0xFFF);
        return true;
    }

    private void UpdateHostBreakpoints()
    {
        _hostBreakpointsArmed = _hostBreakpoints.Count != 0;
        _debugSlowPath |= _hostBreakpointsArmed;
        if (!_hostBreakpointsArmed && !_hostWatchesArmed)
        {
            // Drop the slow path unless the guest's own breakpoints still need it.
            RecomputeBreakpoints();
        }
    }

    /// <summary>Before an instruction while host breakpoints are set: whether one is at CS.base + EIP (then Run stops).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool CheckHostBreakpoint()
    {
        uint linear = (uint)(_ctx.SegBase[Cs] + _ctx.Eip);
        if (_hostBreakpointResume)
        {
            _hostBreakpointResume = false;
            if (linear == _hostBreakpointResumeAddress)
            {
                return false;
            }
        }

        if (!_hostBreakpoints.Contains(linear))
        {
            return false;
        }

        _hostBreakpointResume = true;
        _hostBreakpointResumeAddress = linear;
        return true;
    }
}
