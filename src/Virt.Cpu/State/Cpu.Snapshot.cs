using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// Reset and snapshots: the architectural reset state, <see cref="SaveState"/> and <see cref="RestoreState"/>, and the
/// validation of a <see cref="CpuState"/> before anything is changed.
/// </summary>
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

        if (state.Xmm is { Count: not XmmRegisterCount * 2 })
        {
            throw new ArgumentException($"CPU state has {state.Xmm.Count} XMM quadwords (expected {XmmRegisterCount * 2}).", nameof(state));
        }

        if ((state.Mxcsr & ~MxcsrBits.WritableMask) != 0 || (state.Xcr0 & Xcr0X87) == 0 || (state.Xcr0 & ~Xcr0Supported) != 0)
        {
            throw new ArgumentException($"CPU state has MXCSR {state.Mxcsr:X} or XCR0 {state.Xcr0:X} with reserved or unsupported bits.", nameof(state));
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

        if ((state.Efer & ~(EferWritable | EferBits.Lma)) != 0)
        {
            throw new ArgumentException($"CPU state has EFER {state.Efer:X} (only SCE, LME, LMA and NXE can be set).", nameof(state));
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
        if (state.LongModeRegisters is { Count: LongModeRegisterCount } longMode)
        {
            (_star, _lstar, _cstar, _sfmask, _kernelGsBase, _tscAux, _cr8) =
                (longMode[0], longMode[1], longMode[2], longMode[3], longMode[4], longMode[5], longMode[6]);
        }
        else
        {
            (_star, _lstar, _cstar, _sfmask, _kernelGsBase, _tscAux, _cr8) = (0, 0, 0, 0, 0, 0, 0);
        }
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

    /// <summary>Puts the CPU into the architectural power-on/reset state (Intel SDM Vol. 3A, 10.1.1, Table 10-1).</summary>
    public void Reset()
    {
        Array.Clear(_ctx.Gpr);
        _ctx.Gpr[RegDx] = CpuidSignature;
        for (int s = 0; s < 6; s++)
        {
            _ctx.SegSelector[s] = 0;
            _ctx.SegBase[s] = 0;
            _ctx.SegLimit[s] = 0xFFFF;
            _ctx.SegAttributes[s] = 0x93;
        }

        _ctx.SegSelector[Cs] = 0xF000;
        _ctx.SegBase[Cs] = 0xFFFF0000;
        _ctx.SegAttributes[Cs] = 0x9B;
        _ctx.Rip = ResetEip;
        _ctx.InstructionStart = ResetEip;
        _ctx.LazyOp = LazyOp.None;
        _ctx.Eflags = EflagsBits.Reserved1;
        _ctx.Cr0 = Cr0Bits.ResetValue;
        _ctx.Cr2 = 0;
        _ctx.Cr3 = 0;
        _ctx.Cr4 = 0;
        _ctx.GdtBase = 0;
        _ctx.GdtLimit = 0xFFFF;
        _ctx.IdtBase = 0;
        _ctx.IdtLimit = 0xFFFF;
        _ctx.LdtSelector = 0;
        _ctx.LdtBase = 0;
        _ctx.LdtLimit = 0xFFFF;
        _ctx.TrSelector = 0;
        _ctx.TrBase = 0;
        _ctx.TrLimit = 0xFFFF;
        _ctx.TrAttributes = 0x8B;
        _ctx.Cpl = 0;
        _tscOffset = 0;
        _sysenterCs = 0;
        _sysenterEsp = 0;
        _sysenterEip = 0;
        (_star, _lstar, _cstar, _sfmask, _kernelGsBase, _tscAux, _cr8) = (0, 0, 0, 0, 0, 0, 0);
        _ctx.Efer = 0;
        Array.Clear(_ctx.Pdpte);
        X87Reset();
        SimdReset();
        ResetDebugRegisters();
        RefreshAllAccessBounds();
        _retired = 0;
        _retiredEpoch++;
        LastExceptionVector = -1;
        _halted = false;
        _shutdown = false;
        _nmiPending = false;
        _nmiBlocked = false;
        _inhibitInterrupts = false;
        _inhibitDebugTrap = false;
        _faulted = false;
        _exitBlock = false;
        ClearExceptionChain();
        UpdateModeBits();
        _mmu.Flush();
    }

    /// <summary>Captures the architectural state (for snapshots and determinism checks).</summary>
    /// <returns>The state record.</returns>
    public CpuState SaveState()
    {
        var segments = new SegmentState[6];
        for (int s = 0; s < 6; s++)
        {
            segments[s] = GetSegment((SegmentRegister)s);
        }

        return new CpuState(
            CpuState.CurrentVersion, [.. _ctx.Gpr], segments, (uint)_ctx.Rip, GetFlags(), _ctx.Cr0, _ctx.Cr2, _ctx.Cr3, _ctx.Cr4, _ctx.GdtBase, _ctx.GdtLimit,
            _ctx.IdtBase, _ctx.IdtLimit, _halted, _shutdown, _nmiPending, _nmiBlocked, _inhibitInterrupts, _inhibitDebugTrap, _retired + _retiredInFlight)
        {
            X87Image = X87SaveImage(),
            Ldtr = Ldtr,
            TaskRegister = TaskRegister,
            Cpl = _ctx.Cpl,
            TscOffset = _tscOffset,
            Efer = _ctx.Efer,
            Pdptes = [.. _ctx.Pdpte],
            SysenterCs = _sysenterCs,
            SysenterEsp = _sysenterEsp,
            SysenterEip = _sysenterEip,
            RipHigh = (uint)(_ctx.Rip >> 32),
            LongModeRegisters = [_star, _lstar, _cstar, _sfmask, _kernelGsBase, _tscAux, _cr8],
            DebugAddresses = [.. _debugAddress],
            Dr6 = _dr6,
            Dr7 = _dr7,
            PendingDebugTraps = _debugTrapBits,
            Xmm = SimdSaveRegisters(),
            Mxcsr = _ctx.Mxcsr,
            Xcr0 = _ctx.Xcr0,
        };
    }

    /// <summary>Restores a state captured by <see cref="SaveState"/>, flushing the decode cache and TLB.</summary>
    /// <param name="state">The state.</param>
    /// <exception cref="ArgumentException">
    /// When the version is unknown, a list is missing or has the wrong length, or a field cannot come from a real CPU; the
    /// whole record is checked before anything is changed, so the CPU is then exactly as before.
    /// </exception>
    public void RestoreState(CpuState state)
    {
        ValidateState(state);
        for (int r = 0; r < _ctx.Gpr.Length; r++)
        {
            _ctx.Gpr[r] = state.GeneralRegisters[r];
        }

        for (int s = 0; s < 6; s++)
        {
            SegmentState segment = state.Segments[s];
            _ctx.SegSelector[s] = segment.Selector;
            _ctx.SegBase[s] = segment.Base;
            _ctx.SegLimit[s] = segment.Limit;
            _ctx.SegAttributes[s] = segment.Attributes;
        }

        RefreshAllAccessBounds();

        _ctx.Rip = ((ulong)state.RipHigh << 32) | state.Eip;
        SetFlagsRaw(state.Eflags);
        _ctx.Cr0 = state.Cr0;
        _ctx.Cr2 = state.Cr2;
        _ctx.Cr3 = state.Cr3;
        _ctx.Cr4 = state.Cr4;
        if (state.Pdptes is { } pdptes)
        {
            for (int i = 0; i < 4; i++)
            {
                _ctx.Pdpte[i] = pdptes[i];
            }
        }
        else
        {
            _mmu.ReloadPdptesForHost();
        }

        _ctx.GdtBase = state.GdtBase;
        _ctx.GdtLimit = state.GdtLimit;
        _ctx.IdtBase = state.IdtBase;
        _ctx.IdtLimit = state.IdtLimit;
        _ctx.Cpl = state.Cpl;
        RestoreSystemState(state);
        _halted = state.Halted;
        _shutdown = state.Shutdown;
        _nmiPending = state.NmiPending;
        _nmiBlocked = state.NmiBlocked;
        _inhibitInterrupts = state.InterruptShadow;
        _inhibitDebugTrap = state.DebugTrapShadow;
        _retired = state.RetiredInstructions;
        _retiredEpoch++;
        X87RestoreImage(state.X87Image);
        SimdRestoreRegisters(state.Xmm);
        _ctx.Mxcsr = state.Mxcsr;
        _ctx.Xcr0 = state.Xcr0;
        _faulted = false;
        ClearExceptionChain();
        UpdateModeBits();
        FlushDecodeCache();
    }
}
