using Virt.Memory;

namespace Virt.Cpu;

/// <summary>The parts of a <see cref="CpuState"/> beyond registers and segments: LDTR, TR, MSRs, debug registers, CPL.</summary>
public sealed partial class Cpu
{
    private long _retiredEpoch;

    /// <summary>
    /// Counts the times <see cref="RetiredInstructions"/> was set rather than counted up: by <see cref="Reset"/> and by
    /// <see cref="RestoreState"/> (which may move it backwards, to an earlier snapshot). A host that measures guest work
    /// as differences of <see cref="RetiredInstructions"/> (the machine's clock does) takes a new starting mark whenever
    /// this changes, instead of subtracting counts from two different timelines.
    /// </summary>
    public long RetiredInstructionsEpoch => _retiredEpoch;

    /// <summary>
    /// Checks the whole record before <see cref="RestoreState"/> changes anything, so a refused record leaves the CPU as
    /// it was: the version, every list's presence and length, the fields no real CPU can hold, and (for PAE paging
    /// without saved PDPTEs) that the page-directory-pointer table CR3 names can be read.
    /// </summary>
    private void ValidateState(CpuState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != CpuState.CurrentVersion)
        {
            throw new ArgumentException($"CPU state version {state.Version} is not supported (expected {CpuState.CurrentVersion}).", nameof(state));
        }

        if (state.GeneralRegisters is null || state.Segments is null)
        {
            throw new ArgumentException("CPU state has no GeneralRegisters or no Segments list.", nameof(state));
        }

        if (state.X87Image is { Count: not X87.X87State.FxsaveSizeInBytes })
        {
            throw new ArgumentException($"CPU state's x87 image has {state.X87Image.Count} bytes (expected {X87.X87State.FxsaveSizeInBytes}).", nameof(state));
        }

        if (state.GeneralRegisters.Count != _ctx.Gpr.Length || state.Segments.Count != 6)
        {
            throw new ArgumentException(
                $"CPU state has {state.GeneralRegisters.Count} general registers and {state.Segments.Count} segments (expected {_ctx.Gpr.Length} and 6).", nameof(state));
        }

        if (state.RetiredInstructions < 0)
        {
            throw new ArgumentException($"CPU state has RetiredInstructions {state.RetiredInstructions} (expected 0 or more).", nameof(state));
        }

        ValidateSystemState(state);

        // Without saved PDPTEs the restore loads them from the table CR3 points to (Intel SDM Vol. 3A, 4.4.1): read it
        // now, so a table outside the memory map fails here rather than half-way through the restore.
        const ulong pagingAndProtection = Cr0Bits.Pg | Cr0Bits.Pe;
        if (state.Pdptes is null && (state.Cr0 & pagingAndProtection) == pagingAndProtection && (state.Cr4 & Cr4Bits.Pae) != 0)
        {
            ulong table = state.Cr3 & 0xFFFF_FFE0;
            try
            {
                for (int i = 0; i < 4; i++)
                {
                    _ = _memory.ReadQuadWord(new PhysicalAddress(table + ((ulong)i * 8)));
                }
            }
            catch (Exception e) when (e is UnmappedAccessException or InvalidOperationException)
            {
                throw new ArgumentException($"CPU state has PAE paging on and no saved PDPTEs, and the table at CR3 {state.Cr3:X8} cannot be read: {e.Message}", nameof(state), e);
            }
        }
    }

    /// <summary>Rejects a state whose system fields cannot come from a real CPU, before anything is changed.</summary>
    private static void ValidateSystemState(CpuState state)
    {
        if (state.Cpl is < 0 or > 3 || ((state.Cr0 & Cr0Bits.Pe) == 0 && state.Cpl != 0))
        {
            throw new ArgumentException($"CPU state has CPL {state.Cpl} (expected 0-3, and 0 with CR0.PE clear).", nameof(state));
        }

        if ((state.Cr0 & Cr0Bits.Pe) != 0 && (state.Eflags & EflagsBits.Vm) != 0 && state.Cpl != 3)
        {
            throw new ArgumentException($"CPU state has CPL {state.Cpl} in virtual-8086 mode (expected 3).", nameof(state));
        }

        if ((state.Efer & ~EferBits.Nxe) != 0)
        {
            throw new ArgumentException($"CPU state has EFER {state.Efer:X} (only NXE can be set).", nameof(state));
        }

        if (state.Pdptes is { Count: not 4 })
        {
            throw new ArgumentException($"CPU state has {state.Pdptes.Count} PDPTEs (expected 4).", nameof(state));
        }

        if (state.DebugAddresses is { Count: not 4 })
        {
            throw new ArgumentException($"CPU state has {state.DebugAddresses.Count} debug address registers (expected 4).", nameof(state));
        }

        if ((state.Dr6 & Dr6Fixed) != Dr6Fixed || (state.Dr7 & ~0xFFFF_23FFu) != Dr7Fixed)
        {
            throw new ArgumentException($"CPU state has DR6 {state.Dr6:X8} / DR7 {state.Dr7:X8} with fixed bits wrong.", nameof(state));
        }

        if ((state.PendingDebugTraps & ~(0xFu | Dr6TaskSwitch)) != 0)
        {
            throw new ArgumentException($"CPU state has pending debug traps {state.PendingDebugTraps:X} (only B0-B3 and BT allowed).", nameof(state));
        }
    }

    private void RestoreSystemState(CpuState state)
    {
        _ctx.LdtSelector = state.Ldtr.Selector;
        _ctx.LdtBase = state.Ldtr.Base;
        _ctx.LdtLimit = state.Ldtr.Limit;
        _ctx.TrSelector = state.TaskRegister.Selector;
        _ctx.TrBase = state.TaskRegister.Base;
        _ctx.TrLimit = state.TaskRegister.Limit;
        _ctx.TrAttributes = state.TaskRegister.Attributes;
        _tscOffset = state.TscOffset;
        _ctx.Efer = state.Efer;
        _sysenterCs = state.SysenterCs;
        _sysenterEsp = state.SysenterEsp;
        _sysenterEip = state.SysenterEip;
        for (int n = 0; n < 4; n++)
        {
            _debugAddress[n] = state.DebugAddresses?[n] ?? 0;
        }

        _dr6 = state.Dr6;
        _dr7 = state.Dr7;
        _debugTrapBits = state.PendingDebugTraps;

        // Hits can only wait across an instruction boundary in the MOV SS / POP SS shadow.
        _debugTrapHeld = state.InterruptShadow && _debugTrapBits != 0;

        // After CR4 (CR4.DE decides whether R/W = 10 is an I/O breakpoint).
        RecomputeBreakpoints();
    }
}
