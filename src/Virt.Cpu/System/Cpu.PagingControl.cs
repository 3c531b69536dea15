using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The parts of MOV to CR0/CR3/CR4 that concern 4-level paging and PCIDs, and INVPCID (Intel SDM Vol. 2B, MOV to/from
/// Control Registers and INVPCID; Vol. 3A, 4.10.1 and 4.10.4). The TLB policy for PCIDs is the MMU's (Mmu.OnCr3Load).
/// </summary>
public sealed partial class Cpu
{
    // INVPCID descriptor (Intel SDM Vol. 2B, INVPCID, Figure 3-24): PCID in bits 11:0, bits 63:12 reserved, then the linear
    // address in bits 127:64.
    private const int InvpcidDescriptorSizeInBytes = 16;
    private const ulong InvpcidDescriptorReserved = ~Mmu.Cr3PcidMask;
    private const ulong InvpcidLastType = 3;
    private const ulong InvpcidSingleContext = 1;

    /// <summary>Whether EFER.LMA is set: IA-32e mode, 4-level paging.</summary>
    private bool IsLongModeActive => (_ctx.Efer & EferBits.Lma) != 0;

    /// <summary>
    /// The paging checks of MOV to CR0: clearing CR0.PG while CR4.PCIDE is set is #GP(0) (Intel SDM Vol. 2B, MOV to CR0).
    /// </summary>
    /// <param name="value">The new CR0.</param>
    /// <returns>False when the write raises #GP(0).</returns>
    internal bool Cr0PagingWriteAllowed(ulong value) => (value & Cr0Bits.Pg) != 0 || (_ctx.Cr4 & Cr4Bits.Pcide) == 0;

    /// <summary>
    /// The paging checks of MOV to CR4 (Intel SDM Vol. 2B, MOV to CR4; Vol. 3A, 4.10.1): clearing PAE in IA-32e mode is
    /// #GP(0), and so is setting PCIDE outside IA-32e mode or while CR3 bits 11:0 are not zero.
    /// </summary>
    /// <param name="value">The new CR4 (already checked against the writable bits).</param>
    /// <returns>False when the write raises #GP(0).</returns>
    internal bool Cr4PagingWriteAllowed(ulong value)
    {
        bool longMode = IsLongModeActive;
        if (longMode && (value & Cr4Bits.Pae) == 0)
        {
            return false;
        }

        bool settingPcide = (value & ~_ctx.Cr4 & Cr4Bits.Pcide) != 0;
        return !settingPcide || (longMode && (_ctx.Cr3 & Mmu.Cr3PcidMask) == 0);
    }

    /// <summary>
    /// MOV to CR3. In IA-32e mode bits 62:MAXPHYADDR (and 63 without CR4.PCIDE) are reserved: #GP(0). With CR4.PCIDE, bit 63
    /// of the source asks to keep the current PCID's cached translations and is not stored (Intel SDM Vol. 3A, 4.10.4.1).
    /// PAE paging loads the PDPTEs, #GP(0) for a reserved bit in a present one (4.4.1).
    /// </summary>
    /// <param name="value">The source operand.</param>
    /// <returns>False when the write raises #GP(0); CR3 is then unchanged.</returns>
    internal bool TryLoadCr3(ulong value)
    {
        if (IsLongModeActive)
        {
            if ((value & _mmu.LongModeCr3Reserved) != 0)
            {
                return false;
            }
        }
        else if (_mmu.PagingEnabled && _mmu.UsesPdptes && !_mmu.LoadPdptes(value))
        {
            return false;
        }

        bool noFlush = (_ctx.Cr4 & Cr4Bits.Pcide) != 0 && (value & Mmu.Cr3NoFlush) != 0;
        ulong previous = _ctx.Cr3;
        _ctx.Cr3 = value & ~Mmu.Cr3NoFlush;
        _mmu.OnCr3Load(previous, noFlush);
        return true;
    }

    /// <summary>
    /// INVPCID r32/r64, m128 (Intel SDM Vol. 2B, INVPCID): #UD unless CPUID advertises it or in virtual-8086 mode; #GP(0) at
    /// CPL &gt; 0; the 16-byte descriptor is read (segment and page faults as for any read); then #GP(0) for a type above 3,
    /// descriptor bits 63:12 set, a PCID other than 0 for types 0 and 1 without CR4.PCIDE, or a non-canonical address for
    /// type 0.
    /// </summary>
    private void ExecuteInvpcid(ref DecodedInstruction d)
    {
        if ((Model.StructuredExtendedFeaturesEbx & CpuidModel.InvpcidFeatureEbx) == 0 || d.Kind1 != OperandKind.Memory
            || (IsProtectedMode && (_ctx.Eflags & EflagsBits.Vm) != 0))
        {
            RaiseFault(VectorInvalidOpcode);
            return;
        }

        if (!RequireCpl0())
        {
            return;
        }

        ulong type = ReadRegister(d.Reg0, d.OpSize);
        ulong offset = EffectiveAddress(ref d);
        if (!CheckLimit(d.Seg, offset, InvpcidDescriptorSizeInBytes))
        {
            return;
        }

        ulong descriptor = ReadMem(d.Seg, offset, 8);
        ulong address = _faulted ? 0 : ReadMem(d.Seg, offset + 8, 8);
        if (_faulted)
        {
            return;
        }

        ulong pcid = descriptor & Mmu.Cr3PcidMask;
        bool pcidAllowed = pcid == 0 || (_ctx.Cr4 & Cr4Bits.Pcide) != 0 || type > InvpcidSingleContext;
        if (type > InvpcidLastType || (descriptor & InvpcidDescriptorReserved) != 0 || !pcidAllowed
            || (type == 0 && !new LinearAddress(address).IsCanonical))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        _mmu.InvalidatePcid((int)type, pcid, new LinearAddress(address));
    }
}
