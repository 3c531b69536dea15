namespace Virt.Cpu;

/// <summary>The parts of a <see cref="CpuState"/> beyond registers and segments: LDTR, TR, MSRs, debug registers, CPL.</summary>
public sealed partial class Cpu
{
    /// <summary>Rejects a state whose system fields cannot come from a real CPU, before anything is changed.</summary>
    private static void ValidateSystemState(CpuState state)
    {
        if (state.Cpl is < 0 or > 3 || ((state.Cr0 & 1) == 0 && state.Cpl != 0))
        {
            throw new ArgumentException($"CPU state has CPL {state.Cpl} (expected 0-3, and 0 with CR0.PE clear).", nameof(state));
        }

        if ((state.Cr0 & 1) != 0 && (state.Eflags & FlagVm) != 0 && state.Cpl != 3)
        {
            throw new ArgumentException($"CPU state has CPL {state.Cpl} in virtual-8086 mode (expected 3).", nameof(state));
        }

        if ((state.Efer & ~EferNxe) != 0)
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
        _ldtSelector = state.Ldtr.Selector;
        _ldtBase = state.Ldtr.Base;
        _ldtLimit = state.Ldtr.Limit;
        _trSelector = state.TaskRegister.Selector;
        _trBase = state.TaskRegister.Base;
        _trLimit = state.TaskRegister.Limit;
        _trAttributes = state.TaskRegister.Attributes;
        _tscOffset = state.TscOffset;
        _efer = state.Efer;
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
