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
    /// <param name="linear">The linear address (above 4 GiB it translates only in IA-32e mode).</param>
    /// <param name="physical">The physical address when the result is true.</param>
    /// <returns>False when the address is beyond 4 GiB outside IA-32e mode or its page is not present (a reserved bit set in a present entry counts as not present).</returns>
    public bool TryTranslateLinear(ulong linear, out PhysicalAddress physical)
    {
        physical = default;
        if (linear > uint.MaxValue && (_ctx.Efer & EferBits.Lma) == 0)
        {
            return false;
        }

        if (!_mmu.TryPeek(linear, out ulong result))
        {
            return false;
        }

        physical = _memory.ApplyA20(new PhysicalAddress(result));
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
        // Host breakpoints are 32-bit linear addresses (the public API's type); in 64-bit mode the low half is compared.
        uint linear = (uint)CodeLinear;
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
