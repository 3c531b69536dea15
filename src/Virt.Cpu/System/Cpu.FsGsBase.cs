using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// RDFSBASE, RDGSBASE, WRFSBASE and WRGSBASE (F3 0F AE /0-/3; Intel SDM Vol. 2C, RDFSBASE/RDGSBASE and WRFSBASE/WRGSBASE):
/// the FS and GS bases without WRMSR, for any CPL, in 64-bit mode only.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>
    /// Reads or writes the base of the segment in <see cref="DecodedInstruction.Reg2"/> (FS or GS). #UD outside 64-bit mode
    /// or while CR4.FSGSBASE is clear (it can be set only when the model advertises the feature). The 32-bit form reads the
    /// low half into a zero-extended register, and writes a zero-extended value; a 64-bit value that is not canonical is
    /// #GP(0).
    /// </summary>
    private void ExecuteFsGsBase(ref DecodedInstruction d, bool write)
    {
        if (!_ctx.Code64 || (_ctx.Cr4 & Cr4Bits.Fsgsbase) == 0)
        {
            RaiseFault(VectorInvalidOpcode);
            return;
        }

        int segment = d.Reg2;
        if (!write)
        {
            ulong value = _ctx.SegBase[segment];
            WriteRegister(d.Reg0, d.OpSize, d.OpSize == 4 ? (uint)value : value);
            return;
        }

        ulong newBase = ReadRegister(d.Reg0, d.OpSize);
        if (!IsCanonical(newBase))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        _ctx.SegBase[segment] = newBase;
    }
}
