namespace Virt.Devices;

/// <summary>
/// x2APIC mode (Intel SDM Vol. 3A, 11.12 "Extended XAPIC (x2APIC)"; 10.12 in older editions): IA32_APIC_BASE bit 10
/// (EXTD) switches the registers from the MMIO window to the MSRs 800h-8FFh, the APIC ID becomes 32 bits, the logical
/// destination is derived from it, and the ICR is one 64-bit MSR.
/// </summary>
public sealed partial class LocalApic
{
    /// <summary>The first MSR of the x2APIC register space (800h: the MMIO offset divided by 16, plus 800h).</summary>
    public const uint X2ApicFirstMsr = 0x800;

    /// <summary>The last MSR of the x2APIC register space.</summary>
    public const uint X2ApicLastMsr = 0x8FF;

    /// <summary>The x2APIC ICR (the MMIO ICR's two halves in one 64-bit MSR, SDM 11.12.9).</summary>
    public const uint X2ApicIcrMsr = 0x830;

    /// <summary>The SELF IPI register, write-only and only in x2APIC mode (SDM 11.12.11).</summary>
    public const uint X2ApicSelfIpiMsr = 0x83F;

    private const int RegSelfIpi = 0x3F;
    private const uint X2ApicBroadcast = 0xFFFF_FFFF;
    private const int X2ApicClusterShift = 16;
    private const uint X2ApicClusterMemberMask = 0xFFFF;

    /// <summary>Whether this APIC implements x2APIC mode (<see cref="LocalApicOptions.X2ApicSupported"/>, CPUID.1:ECX bit 21).</summary>
    public bool X2ApicSupported => _options.X2ApicSupported;

    /// <summary>Whether the APIC is in x2APIC mode (IA32_APIC_BASE EN and EXTD set): the registers are MSRs, the MMIO window is off.</summary>
    public bool IsX2ApicMode => (_baseMsr & ApicBaseX2Apic) != 0;

    /// <summary>
    /// Whether the MMIO window decodes: in xAPIC mode only. SDM 11.12.1.2: in x2APIC mode the memory-mapped interface
    /// behaves as in a globally disabled xAPIC.
    /// </summary>
    public bool IsMmioDecoded => IsGloballyEnabled && !IsX2ApicMode;

    /// <summary>The x2APIC ID (32 bits; its low 8 bits are the xAPIC ID): the ID given at construction.</summary>
    public uint X2ApicId => _options.ApicId;

    /// <summary>
    /// The logical x2APIC ID (SDM 11.12.10.2): cluster ID = x2APIC ID[19:4] in bits 31:16, and bit x2APIC ID[3:0] of the
    /// 16 member bits set. Read-only, derived by hardware.
    /// </summary>
    public uint X2ApicLogicalId => ((X2ApicId >> 4) << X2ApicClusterShift) | (1u << (int)(X2ApicId & 0xF));

    /// <summary>
    /// RDMSR of an x2APIC register (800h-8FFh). Refused (#GP(0)) outside x2APIC mode, for reserved MSRs, and for the
    /// write-only EOI and SELF IPI registers (SDM Table 11-6, 11.12.1.2).
    /// </summary>
    /// <param name="index">The MSR.</param>
    /// <param name="value">The value.</param>
    /// <returns>False where RDMSR raises #GP(0).</returns>
    public bool TryReadX2ApicMsr(uint index, out ulong value)
    {
        value = 0;
        if (!IsX2ApicMode || index < X2ApicFirstMsr || index > X2ApicLastMsr)
        {
            Misuse("RDMSR of an x2APIC register outside x2APIC mode", index);
            return false;
        }

        int register = (int)(index - X2ApicFirstMsr);
        switch (register)
        {
            case RegId:
                value = X2ApicId;
                return true;
            case RegLdr:
                value = X2ApicLogicalId;
                return true;
            case RegIcrLow:
                value = ((ulong)_icrHigh << 32) | _icrLow;
                return true;
            case RegVersion or RegTpr or RegPpr or RegSvr or RegEsr or RegInitialCount or RegCurrentCount or RegDivide:
            case >= RegIsr0 and < RegIrr0 + 8:
            case >= RegLvt0 and < RegLvt0 + LvtCount:
                value = ReadRegister(register);
                return true;
            default:
                // EOI and SELF IPI are write-only; APR, RRD, DFR and the ICR's high half do not exist in x2APIC mode.
                Misuse("RDMSR of a reserved or write-only x2APIC register", index);
                return false;
        }
    }

    /// <summary>
    /// WRMSR to an x2APIC register (800h-8FFh). Refused (#GP(0)) outside x2APIC mode, for reserved MSRs, read-only
    /// registers (ID, version, PPR, LDR, ISR, TMR, IRR, current count), a non-zero EOI or ESR write, and bits 63:32 set in
    /// any register but the ICR (SDM Table 11-6).
    /// </summary>
    /// <param name="index">The MSR.</param>
    /// <param name="value">The value.</param>
    /// <returns>False where WRMSR raises #GP(0).</returns>
    public bool TryWriteX2ApicMsr(uint index, ulong value)
    {
        if (!IsX2ApicMode || index < X2ApicFirstMsr || index > X2ApicLastMsr)
        {
            Misuse("WRMSR of an x2APIC register outside x2APIC mode", index);
            return false;
        }

        int register = (int)(index - X2ApicFirstMsr);
        if (register != RegIcrLow && (value >> 32) != 0)
        {
            Misuse("WRMSR of an x2APIC register with bits 63:32 set", index);
            return false;
        }

        uint low = (uint)value;
        switch (register)
        {
            case RegTpr or RegSvr or RegInitialCount or RegDivide:
            case >= RegLvt0 and < RegLvt0 + LvtCount:
                WriteRegister(register, low);
                return true;
            case RegEoi or RegEsr when low != 0:
                // SDM Table 11-6: "WRMSR of a non-zero value causes #GP(0)" for EOI and ESR.
                Misuse("non-zero WRMSR to the x2APIC EOI or ESR", value);
                return false;
            case RegEoi or RegEsr:
                WriteRegister(register, 0);
                return true;
            case RegIcrLow:
                Observer?.OnRegisterWrite(Name, "ICR", value);
                _icrHigh = (uint)(value >> 32);
                _icrLow = low & IcrWritable;
                SendInterprocessorInterrupt();
                return true;
            case RegSelfIpi:
                if ((low & ~LvtVectorMask) != 0)
                {
                    Misuse("SELF IPI with reserved bits set", value);
                    return false;
                }

                Observer?.OnRegisterWrite(Name, "SELF IPI", value);
                SendSelfInterrupt((byte)low);
                return true;
            default:
                Misuse("WRMSR of a reserved or read-only x2APIC register", index);
                return false;
        }
    }

    /// <summary>
    /// The SELF IPI register (SDM 11.12.11): a fixed, edge-triggered interrupt with the written vector to this APIC, as an
    /// ICR write with the self shorthand would send.
    /// </summary>
    private void SendSelfInterrupt(byte vector)
    {
        if (vector < FirstLegalVector)
        {
            SignalError(ErrorSendIllegalVector);
            return;
        }

        Observer?.OnInterruptEvent(Name, $"SELF IPI vector {Hex(vector)}");
        Accept(ApicDeliveryMode.Fixed, vector, levelTriggered: false, "SELF IPI");
    }

    /// <summary>
    /// The IA32_APIC_BASE state machine (SDM 11.12.5, Figure 11-28 "Local x2APIC State Transitions"): from xAPIC mode
    /// to x2APIC mode or disabled; from x2APIC mode only to disabled; from disabled only to xAPIC mode. EN=0 with EXTD=1
    /// is invalid. Everything else raises #GP(0).
    /// </summary>
    private bool IsValidModeTransition(ulong newValue)
    {
        bool enable = (newValue & ApicBaseGlobalEnable) != 0;
        bool extended = (newValue & ApicBaseX2Apic) != 0;
        if (extended && (!enable || !X2ApicSupported))
        {
            return false;
        }

        if (IsX2ApicMode)
        {
            return extended || !enable; // x2APIC -> xAPIC is invalid
        }

        if (!IsGloballyEnabled)
        {
            return !extended; // disabled -> x2APIC is invalid
        }

        return true;
    }

    /// <summary>Whether a message's destination names this APIC in x2APIC mode (SDM 11.12.10): 32-bit physical IDs, logical cluster/member.</summary>
    private bool MatchesX2ApicDestination(bool logical, uint destination)
    {
        if (destination == X2ApicBroadcast)
        {
            return true;
        }

        if (!logical)
        {
            return destination == X2ApicId;
        }

        uint ldr = X2ApicLogicalId;
        return (ldr >> X2ApicClusterShift) == (destination >> X2ApicClusterShift) && (ldr & destination & X2ApicClusterMemberMask) != 0;
    }
}
