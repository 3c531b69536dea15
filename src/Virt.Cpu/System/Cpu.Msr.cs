using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>Model-specific registers (RDMSR/WRMSR), the time-stamp counter MSR and SYSENTER/SYSEXIT (Intel SDM Vol. 4; Vol. 2B).</summary>
public sealed partial class Cpu
{
    private const uint MsrTimeStampCounter = 0x10;
    private const uint MsrSysenterCs = 0x174;

    // IA32_BIOS_SIGN_ID (Intel SDM Vol. 4, Table 2-2, since the P6 family): the microcode update signature. Vol. 3A, 10.11.7.1
    // has software write 0, execute CPUID(1) and read EDX; Linux does so in early_init_intel. No update is ever loaded, so
    // writes are accepted and the signature reads 0.
    private const uint MsrBiosSignId = 0x8B;
    private const uint MsrSysenterEsp = 0x175;

    // IA32_MISC_ENABLE (Intel SDM Vol. 4, Table 2-2): architectural on family 6 model 0Dh and later, which the default CPUID
    // model reports; 64-bit Linux reads it unguarded in verify_cpu (to clear XD Disable) before it ever enters long mode.
    // It reads fast strings enabled (bit 0) and BTS and PEBS unavailable (bits 11 and 12: no branch-trace store or precise
    // events here); Limit CPUID Maxval (bit 22) and XD Disable (bit 34) read 0. Writes are accepted and ignored, so the
    // value never changes (a deliberate difference: fast strings cannot be turned off, and nothing here depends on them).
    private const uint MsrMiscEnable = 0x1A0;

    // IA32_PLATFORM_ID (Intel SDM Vol. 4, Table 2-2, read-only, since the P6 family): bits 52:50 give the platform a microcode
    // update must match. Linux's Intel microcode driver reads it unguarded on family 6 and warns with a stack trace when it
    // faults. Platform 0; writes are #GP.
    private const uint MsrPlatformId = 0x17;
    private const ulong MiscEnableFastStrings = 1UL << 0;
    private const ulong MiscEnableBtsUnavailable = 1UL << 11;
    private const ulong MiscEnablePebsUnavailable = 1UL << 12;
    private const ulong MiscEnableValue = MiscEnableFastStrings | MiscEnableBtsUnavailable | MiscEnablePebsUnavailable;
    private const uint MsrSysenterEip = 0x176;

    // CR4 features implemented: TSD (bit 2, RDTSC becomes CPL-0 only), PSE (bit 4, 4 MiB pages) and PGE (bit 7: global
    // pages; the software TLB drops every entry on a CR3 load, which the SDM allows, Vol. 3A, 4.10.4.1 and 4.10.2.4).

    // CR4.OSFXSR (Intel SDM Vol. 3A, 2.5): the OS declares that it saves state with FXSAVE. CPUID reports FXSR,
    // so the bit must be settable (Linux sets it right after detecting FXSR); without SSE it changes nothing else.
    // CR4.FSGSBASE (bit 16): RD/WRFSBASE and RD/WRGSBASE, writable only when CPUID.7.0:EBX.FSGSBASE is advertised.
    // CR4.PCIDE (bit 17): process-context identifiers, settable only in IA-32e mode (Cpu.PagingControl.cs).
    // CR4.OSXMMEXCPT and CR4.OSXSAVE: the SSE exception and XSAVE enables (Cpu.Cpuid.cs ties each to its CPUID feature).
    private const ulong Cr4Supported = Cr4Bits.Vme | Cr4Bits.Pvi | Cr4Bits.Tsd | Cr4Bits.De | Cr4Bits.Pse | Cr4Bits.Pae | Cr4Bits.Pge | Cr4Bits.Osfxsr
        | Cr4Bits.Osxmmexcpt | Cr4Bits.Fsgsbase | Cr4Bits.Pcide | Cr4Bits.Osxsave;

    private ulong _tscOffset;
    private ushort _sysenterCs;
    private ulong _sysenterEsp;
    private ulong _sysenterEip;

    /// <summary>Reads a model-specific register as RDMSR would.</summary>
    /// <param name="index">The MSR number (ECX).</param>
    /// <param name="value">The value.</param>
    /// <returns>False when the MSR does not exist (RDMSR would raise #GP(0)).</returns>
    public bool TryReadMsr(uint index, out ulong value)
    {
        switch (index)
        {
            case MsrTimeStampCounter:
                value = ReadTimestampCounter();
                return true;
            case MsrBiosSignId:
                value = 0;
                return true;
            case MsrMiscEnable:
                value = MiscEnableValue;
                return true;
            case MsrPlatformId:
                value = 0;
                return true;
            case MsrSysenterCs:
                value = _sysenterCs;
                return true;
            case MsrSysenterEsp:
                value = _sysenterEsp;
                return true;
            case MsrSysenterEip:
                value = _sysenterEip;
                return true;
            case MsrEfer:
                value = _ctx.Efer;
                return true;
            default:
                if (TryReadLongModeMsr(index, out value))
                {
                    return true;
                }

                return _options.MsrHandler?.TryRead(index, out value) ?? false;
        }
    }

    /// <summary>Writes a model-specific register as WRMSR would.</summary>
    /// <param name="index">The MSR number (ECX).</param>
    /// <param name="value">The value (EDX:EAX).</param>
    /// <returns>False when the MSR does not exist (WRMSR would raise #GP(0)).</returns>
    public bool TryWriteMsr(uint index, ulong value)
    {
        switch (index)
        {
            case MsrTimeStampCounter:
                // Writing the TSC sets the value it reads from now on (Intel SDM Vol. 3B, 18.17).
                _tscOffset = value - RawTimestampCounter();
                return true;
            case MsrBiosSignId:
            case MsrMiscEnable:
                return true;
            case MsrSysenterCs:
                _sysenterCs = (ushort)value;
                return true;
            case MsrSysenterEsp:
                // 64 bits wide on processors with IA-32e mode (Intel SDM Vol. 4, Table 2-2), and canonical.
                if (!IsCanonical(value))
                {
                    return false;
                }

                _sysenterEsp = value;
                return true;
            case MsrSysenterEip:
                if (!IsCanonical(value))
                {
                    return false;
                }

                _sysenterEip = value;
                return true;
            case MsrEfer:
                return ValidateEferWrite(ref value) && TryWriteEfer(value);
            default:
                bool written = TryWriteLongModeMsr(index, value, out bool handled);
                if (handled)
                {
                    return written;
                }

                return _options.MsrHandler?.TryWrite(index, value) ?? false;
        }
    }

    private ulong RawTimestampCounter() => TimeSource?.ReadTimestampCounter() ?? (ulong)(_retired + _extraRetired);

    private ulong ReadTimestampCounter() => RawTimestampCounter() + _tscOffset;

    private void ExecuteRdmsr()
    {
        if (!RequireCpl0())
        {
            return;
        }

        bool implemented = TryReadMsr((uint)_ctx.Gpr[RegCx], out ulong value);
        if (MsrReadHook is { } hook)
        {
            if (!implemented)
            {
                value = 0;
            }

            implemented = hook((uint)_ctx.Gpr[RegCx], implemented, ref value);
        }

        if (!implemented)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        WriteRegister(RegAx, 4, (uint)value);
        WriteRegister(RegDx, 4, value >> 32);
    }

    private void ExecuteWrmsr()
    {
        if (!RequireCpl0())
        {
            return;
        }

        ulong value = ((ulong)(uint)_ctx.Gpr[RegDx] << 32) | (uint)_ctx.Gpr[RegAx];
        if (MsrWriteHook is { } hook && !hook((uint)_ctx.Gpr[RegCx], ref value))
        {
            _exitBlock = true;
            return;
        }

        if (!TryWriteMsr((uint)_ctx.Gpr[RegCx], value))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        _exitBlock = true;
    }

    /// <summary>
    /// SYSENTER: to CPL 0 with flat CS = SYSENTER_CS and SS = SYSENTER_CS + 8, ESP and EIP from their MSRs; clears VM, IF and RF.
    /// #GP(0) in real mode or when SYSENTER_CS is null (Intel SDM Vol. 2B, SYSENTER).
    /// </summary>
    private void ExecuteSysenter()
    {
        if ((_ctx.Cr0 & Cr0Bits.Pe) == 0 || (_sysenterCs & 0xFFFC) == 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        _ctx.Eflags &= ~(EflagsBits.Vm | EflagsBits.If | EflagsBits.Rf);
        if (LongModeActive)
        {
            // IA-32e mode: always into 64-bit code, RSP and RIP all 64 bits of the MSRs (Intel SDM Vol. 2B, SYSENTER).
            LoadSystemCallSegments((ushort)(_sysenterCs & 0xFFFC), (ushort)((_sysenterCs & 0xFFFC) + 8), cpl: 0, longCode: true);
            _ctx.Gpr[RegSp] = _sysenterEsp;
            _ctx.Rip = _sysenterEip;
            return;
        }

        LoadFlatSegments((ushort)(_sysenterCs & 0xFFFC), 0);
        _ctx.Gpr[RegSp] = (uint)_sysenterEsp;
        _ctx.Rip = (uint)_sysenterEip;
    }

    /// <summary>SYSEXIT: to CPL 3 with CS = SYSENTER_CS + 16, SS = SYSENTER_CS + 24, ESP = ECX, EIP = EDX (Intel SDM Vol. 2B, SYSEXIT).</summary>
    private void ExecuteSysexit(ref DecodedInstruction d)
    {
        if ((_ctx.Cr0 & Cr0Bits.Pe) == 0 || (_sysenterCs & 0xFFFC) == 0 || _ctx.Cpl != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        if (d.OpSize == 8)
        {
            // REX.W SYSEXIT: to 64-bit code, CS = SYSENTER_CS + 32, SS = + 40; RCX and RDX must be canonical (Intel SDM Vol. 2B).
            if (!IsCanonical(_ctx.Gpr[RegCx]) || !IsCanonical(_ctx.Gpr[RegDx]))
            {
                RaiseFault(VectorGeneralProtection, 0);
                return;
            }

            LoadSystemCallSegments((ushort)((_sysenterCs + 32) | 3), (ushort)((_sysenterCs + 40) | 3), cpl: 3, longCode: true);
            _ctx.Gpr[RegSp] = _ctx.Gpr[RegCx];
            _ctx.Rip = _ctx.Gpr[RegDx];
            return;
        }

        LoadFlatSegments((ushort)((_sysenterCs + 16) | 3), 3);
        _ctx.Gpr[RegSp] = (uint)_ctx.Gpr[RegCx];
        _ctx.Rip = (uint)_ctx.Gpr[RegDx];
    }

    /// <summary>Loads the fixed flat CS and SS (SS = CS + 8) that SYSENTER and SYSEXIT use, without reading descriptors.</summary>
    private void LoadFlatSegments(ushort codeSelector, int cpl)
    {
        ushort dpl = (ushort)(cpl << 5);
        _ctx.SegSelector[Cs] = codeSelector;
        _ctx.SegBase[Cs] = 0;
        _ctx.SegLimit[Cs] = 0xFFFF_FFFF;
        _ctx.SegAttributes[Cs] = (ushort)(0xC09B | dpl);
        _ctx.SegSelector[Ss] = (ushort)(codeSelector + 8);
        _ctx.SegBase[Ss] = 0;
        _ctx.SegLimit[Ss] = 0xFFFF_FFFF;
        _ctx.SegAttributes[Ss] = (ushort)(0xC093 | dpl);
        OnPrivilegeChange(cpl);
        _ctx.Cpl = cpl;
        RefreshAccessBounds(Cs);
        RefreshAccessBounds(Ss);
        UpdateModeBits();
        _exitBlock = true;
    }
}
