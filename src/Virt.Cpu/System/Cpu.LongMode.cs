using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// IA-32e mode: EFER.LME/LMA and the checks on entering and leaving it (Intel SDM Vol. 3A, 10.8.5), the long-mode MSRs
/// (STAR, LSTAR, CSTAR, SFMASK, FS_BASE, GS_BASE, KERNEL_GS_BASE, TSC_AUX), SWAPGS, SYSCALL/SYSRET, RDTSCP and CMPXCHG16B.
/// </summary>
public sealed partial class Cpu
{
    private const uint MsrStar = 0xC000_0081;
    private const uint MsrLstar = 0xC000_0082;
    private const uint MsrCstar = 0xC000_0083;
    private const uint MsrSfmask = 0xC000_0084;
    private const uint MsrFsBase = 0xC000_0100;
    private const uint MsrGsBase = 0xC000_0101;
    private const uint MsrKernelGsBase = 0xC000_0102;
    private const uint MsrTscAux = 0xC000_0103;

    /// <summary>The EFER bits WRMSR may change (LMA is read-only: the processor sets it, Intel SDM Vol. 3A, 2.2.1).</summary>
    private const ulong EferWritable = EferBits.Sce | EferBits.Lme | EferBits.Nxe;

    /// <summary>The writable bits of CR8 (the task-priority class, Intel SDM Vol. 3A, 10.8.6.1).</summary>
    private const ulong Cr8Writable = 0xF;

    /// <summary>STAR[47:32]: the SYSCALL CS selector (SS is that + 8).</summary>
    private const int StarSyscallShift = 32;

    /// <summary>STAR[63:48]: the SYSRET selector base (CS is that + 16 for 64-bit, the base for 32-bit; SS is that + 8).</summary>
    private const int StarSysretShift = 48;

    /// <summary>The EFLAGS bits SYSRET restores from R11 (Intel SDM Vol. 2B, SYSRET: R11 AND 3C7FD7H, bit 1 set).</summary>
    private const uint SysretFlagsMask = 0x3C7FD7;

    /// <summary>The descriptor-cache attributes SYSCALL and SYSRET load for CS: present, S, execute/read accessed code, G.</summary>
    private const ushort FlatCodeAttributes = 0x809B;

    /// <summary>The descriptor-cache attributes SYSCALL and SYSRET load for SS: present, S, read/write accessed data, B, G.</summary>
    private const ushort FlatStackAttributes = 0xC093;

    /// <summary>The DPL field of the attributes.</summary>
    private const int AttributeDplShift = 5;

    /// <summary>The alignment CMPXCHG16B requires of its operand (Intel SDM Vol. 2A, CMPXCHG8B/CMPXCHG16B).</summary>
    private const ulong Cmpxchg16bAlignmentMask = 15;

    /// <summary>The number of entries of <see cref="CpuState.LongModeRegisters"/>.</summary>
    private const int LongModeRegisterCount = 7;

    private ulong _star;
    private ulong _lstar;
    private ulong _cstar;
    private ulong _sfmask;
    private ulong _kernelGsBase;
    private ulong _tscAux;
    private ulong _cr8;

    /// <summary>Whether IA-32e mode is active (EFER.LMA): 64-bit or compatibility mode.</summary>
    private bool LongModeActive => IsLongModeActive;

    /// <summary>
    /// The checks of a MOV to CR0 that enters or leaves IA-32e mode (Intel SDM Vol. 3A, 10.8.5 and Vol. 2B, MOV to CR0):
    /// setting PG with EFER.LME needs CR4.PAE and a CS without L; clearing PG from 64-bit mode is not allowed (software
    /// leaves through compatibility mode). #GP(0) and false when one fails.
    /// </summary>
    private bool CheckLongModeTransition(ulong newCr0)
    {
        bool pagingOn = (_ctx.Cr0 & Cr0Bits.Pg) != 0;
        bool pagingNext = (newCr0 & Cr0Bits.Pg) != 0;
        if (!pagingOn && pagingNext && (_ctx.Efer & EferBits.Lme) != 0)
        {
            if ((_ctx.Cr4 & Cr4Bits.Pae) == 0 || (_ctx.SegAttributes[Cs] & SegmentState.LongModeBit) != 0)
            {
                RaiseFault(VectorGeneralProtection, 0);
                return false;
            }
        }
        else if (pagingOn && !pagingNext && _ctx.Code64)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return false;
        }

        return true;
    }

    /// <summary>EFER.LMA follows LME and CR0.PG (Intel SDM Vol. 3A, 10.8.5); the mode bits follow LMA.</summary>
    private void UpdateLongModeActive()
    {
        bool active = (_ctx.Efer & EferBits.Lme) != 0 && (_ctx.Cr0 & Cr0Bits.Pg) != 0;
        _ctx.Efer = active ? _ctx.Efer | EferBits.Lma : _ctx.Efer & ~EferBits.Lma;
        UpdateModeBits();
    }

    /// <summary>
    /// Validates a WRMSR to EFER: reserved bits are #GP, and so is changing LME while paging is on (Intel SDM Vol. 3A,
    /// 10.8.5). LMA in the written value is ignored; the current LMA is kept.
    /// </summary>
    /// <returns>False when the write must fault.</returns>
    private bool ValidateEferWrite(ref ulong value)
    {
        if ((value & ~(EferWritable | EferBits.Lma)) != 0)
        {
            return false;
        }

        // LME and SCE exist only when the model advertises LM and SYSCALL (a 32-bit model keeps the 32-bit EFER).
        if (((value & EferBits.Lme) != 0 && !Model.HasLongMode)
            || ((value & EferBits.Sce) != 0 && (Model.ExtendedFeaturesEdx & CpuidModel.SyscallFeatureEdx) == 0))
        {
            return false;
        }

        if ((_ctx.Cr0 & Cr0Bits.Pg) != 0 && ((value ^ _ctx.Efer) & EferBits.Lme) != 0)
        {
            return false;
        }

        value = (value & EferWritable) | (_ctx.Efer & EferBits.Lma);
        return true;
    }

    /// <summary>RDMSR of the long-mode MSRs.</summary>
    private bool TryReadLongModeMsr(uint index, out ulong value)
    {
        switch (index)
        {
            case MsrStar: value = _star; return true;
            case MsrLstar: value = _lstar; return true;
            case MsrCstar: value = _cstar; return true;
            case MsrSfmask: value = _sfmask; return true;
            case MsrFsBase: value = _ctx.SegBase[Fs]; return true;
            case MsrGsBase: value = _ctx.SegBase[Gs]; return true;
            case MsrKernelGsBase: value = _kernelGsBase; return true;
            case MsrTscAux: value = _tscAux; return true;
            default:
                value = 0;
                return false;
        }
    }

    /// <summary>
    /// WRMSR of the long-mode MSRs: the address MSRs (LSTAR, CSTAR, FS_BASE, GS_BASE, KERNEL_GS_BASE) must be canonical,
    /// TSC_AUX keeps 32 bits and SFMASK 32 (Intel SDM Vol. 4, Table 2-2: the upper halves are reserved).
    /// </summary>
    /// <returns>False when the MSR is not one of them or the value is invalid (#GP).</returns>
    private bool TryWriteLongModeMsr(uint index, ulong value, out bool handled)
    {
        handled = true;
        bool isAddress = index is MsrLstar or MsrCstar or MsrFsBase or MsrGsBase or MsrKernelGsBase;
        if (isAddress && !IsCanonical(value))
        {
            return false;
        }

        switch (index)
        {
            case MsrStar: _star = value; return true;
            case MsrLstar: _lstar = value; return true;
            case MsrCstar: _cstar = value; return true;
            case MsrSfmask:
                if ((value >> 32) != 0)
                {
                    return false;
                }

                _sfmask = value;
                return true;
            case MsrFsBase: _ctx.SegBase[Fs] = value; return true;
            case MsrGsBase: _ctx.SegBase[Gs] = value; return true;
            case MsrKernelGsBase: _kernelGsBase = value; return true;
            case MsrTscAux:
                if ((value >> 32) != 0)
                {
                    return false;
                }

                _tscAux = value;
                return true;
            default:
                handled = false;
                return false;
        }
    }

    /// <summary>SWAPGS: exchanges GS.base and KERNEL_GS_BASE; 64-bit mode only (#UD), CPL 0 only (#GP(0)) (Intel SDM Vol. 2B).</summary>
    private void ExecuteSwapgs()
    {
        if (!_ctx.Code64)
        {
            RaiseFault(VectorInvalidOpcode);
            return;
        }

        if (!RequireCpl0())
        {
            return;
        }

        (_ctx.SegBase[Gs], _kernelGsBase) = (_kernelGsBase, _ctx.SegBase[Gs]);
    }

    /// <summary>
    /// SYSCALL (Intel SDM Vol. 2B): RCX = next RIP, R11 = RFLAGS, RIP = LSTAR, RFLAGS &amp;= ~SFMASK (and RF cleared), CS and
    /// SS flat at CPL 0 from STAR[47:32]. #UD outside 64-bit mode (Intel processors do not support it in compatibility
    /// mode; CSTAR is kept for software that writes it) and when EFER.SCE is clear.
    /// </summary>
    private void ExecuteSyscall()
    {
        if (!_ctx.Code64 || (_ctx.Efer & EferBits.Sce) == 0)
        {
            RaiseFault(VectorInvalidOpcode);
            return;
        }

        ulong flags = GetFlags();
        _ctx.Gpr[RegCx] = _ctx.Rip;
        _ctx.Gpr[11] = flags & ~(ulong)EflagsBits.Rf;
        SetFlagsRaw((uint)(flags & ~_sfmask) & ~EflagsBits.Rf);
        ushort selector = (ushort)(_star >> StarSyscallShift);
        LoadSystemCallSegments((ushort)(selector & 0xFFFC), (ushort)(selector + 8), cpl: 0, longCode: true);
        _ctx.Rip = _lstar;
    }

    /// <summary>
    /// SYSRET (Intel SDM Vol. 2B): back to CPL 3; with REX.W to 64-bit code at RCX (#GP(0) when RCX is not canonical), else
    /// to compatibility mode at ECX; RFLAGS from R11; CS and SS from STAR[63:48]. #UD outside 64-bit mode or without
    /// EFER.SCE, #GP(0) at CPL above 0.
    /// </summary>
    private void ExecuteSysret(ref DecodedInstruction d)
    {
        if (!_ctx.Code64 || (_ctx.Efer & EferBits.Sce) == 0)
        {
            RaiseFault(VectorInvalidOpcode);
            return;
        }

        if (_ctx.Cpl != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        bool to64 = d.OpSize == 8;
        ulong target = to64 ? _ctx.Gpr[RegCx] : (uint)_ctx.Gpr[RegCx];
        if (!IsCanonical(target))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        ushort selector = (ushort)(_star >> StarSysretShift);
        SetFlagsRaw(((uint)_ctx.Gpr[11] & SysretFlagsMask) | EflagsBits.Reserved1);
        LoadSystemCallSegments((ushort)((to64 ? selector + 16 : selector) | 3), (ushort)((selector + 8) | 3), cpl: 3, longCode: to64);
        _ctx.Rip = target;
    }

    /// <summary>Loads the fixed flat CS and SS of SYSCALL and SYSRET without reading descriptors (Intel SDM Vol. 2B).</summary>
    private void LoadSystemCallSegments(ushort codeSelector, ushort stackSelector, int cpl, bool longCode)
    {
        ushort dpl = (ushort)(cpl << AttributeDplShift);
        _ctx.SegSelector[Cs] = codeSelector;
        _ctx.SegBase[Cs] = 0;
        _ctx.SegLimit[Cs] = 0xFFFF_FFFF;
        _ctx.SegAttributes[Cs] = (ushort)(FlatCodeAttributes | dpl | (longCode ? SegmentState.LongModeBit : SegmentState.DefaultBigBit));
        _ctx.SegSelector[Ss] = stackSelector;
        _ctx.SegBase[Ss] = 0;
        _ctx.SegLimit[Ss] = 0xFFFF_FFFF;
        _ctx.SegAttributes[Ss] = (ushort)(FlatStackAttributes | dpl);
        OnPrivilegeChange(cpl);
        _ctx.Cpl = cpl;
        RefreshAccessBounds(Cs);
        RefreshAccessBounds(Ss);
        UpdateModeBits();
        _exitBlock = true;
    }

    /// <summary>RDTSCP: RDTSC plus ECX = TSC_AUX (Intel SDM Vol. 2B).</summary>
    private void ExecuteRdtscp()
    {
        ExecuteRdtsc();
        if (!_faulted)
        {
            WriteRegister(RegCx, 4, _tscAux);
        }
    }

    /// <summary>
    /// CMPXCHG16B m128: compares RDX:RAX with the operand; equal stores RCX:RBX and sets ZF, else loads RDX:RAX and clears
    /// it. The operand must be 16-byte aligned (#GP(0)); the destination is always written, as for CMPXCHG8B (Intel SDM
    /// Vol. 2A, CMPXCHG8B/CMPXCHG16B).
    /// </summary>
    private void ExecuteCmpxchg16b(ref DecodedInstruction d)
    {
        ulong ea = EffectiveAddress(ref d);
        ulong linear = _ctx.Code64 ? (d.Seg >= Fs ? _ctx.SegBase[d.Seg] : 0) + ea : _ctx.SegBase[d.Seg] + ea;
        if ((linear & Cmpxchg16bAlignmentMask) != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        ulong low = ReadMem(d.Seg, ea, 8);
        ulong high = ReadMem(d.Seg, ea + 8, 8);
        if (_faulted)
        {
            return;
        }

        bool equal = low == _ctx.Gpr[RegAx] && high == _ctx.Gpr[RegDx];
        ulong newLow = equal ? _ctx.Gpr[RegBx] : low;
        ulong newHigh = equal ? _ctx.Gpr[RegCx] : high;
        WriteMem(d.Seg, ea, 8, newLow);
        WriteMem(d.Seg, ea + 8, 8, newHigh);
        if (_faulted)
        {
            return;
        }

        if (!equal)
        {
            _ctx.Gpr[RegAx] = low;
            _ctx.Gpr[RegDx] = high;
        }

        SetFlag(EflagsBits.Zf, equal);
    }
}
