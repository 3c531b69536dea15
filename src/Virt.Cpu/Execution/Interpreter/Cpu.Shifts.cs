using System.Numerics;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>Shifts, rotates, double shifts, bit tests and bit scans.</summary>
public sealed partial class Cpu
{
    /// <summary>
    /// ROL/ROR/RCL/RCR/SHL/SHR/SAR. The count is masked to 5 bits, 6 with a 64-bit operand (Intel SDM Vol. 2B,
    /// SAL/SAR/SHL/SHR: "the count is masked to 5 bits (or 6 bits with a 64-bit operand)"). A masked count of 0 changes nothing, flags included. OF is defined only for a count of 1;
    /// for larger counts we compute it as for 1-bit shifts of the final step, as the P6 does.
    /// </summary>
    private void ExecuteShift(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        int count = (int)(ReadOperand1(ref d, 1) & ShiftCountMask(size));
        ulong value = ReadDestination(ref d, size, out ulong ea);
        if (_faulted || count == 0)
        {
            return;
        }

        int bits = size * 8;
        ulong mask = SizeMask(size);
        ulong sign = SignBit(size);
        uint flags = d.Op is Op.Shl or Op.Shr or Op.Sar ? 0 : GetFlags();
        bool cf = (flags & EflagsBits.Cf) != 0;
        ulong res;
        bool of;
        switch (d.Op)
        {
            case Op.Rol:
                {
                    int n = count % bits;
                    res = n == 0 ? value : ((value << n) | (value >> (bits - n))) & mask;
                    cf = (res & 1) != 0;
                    of = ((res & sign) != 0) != cf;
                    SetStatusFlags((flags & ~(EflagsBits.Cf | EflagsBits.Of)) | (cf ? EflagsBits.Cf : 0) | (of ? EflagsBits.Of : 0));
                    break;
                }

            case Op.Ror:
                {
                    int n = count % bits;
                    res = n == 0 ? value : ((value >> n) | (value << (bits - n))) & mask;
                    cf = (res & sign) != 0;
                    of = ((res ^ (res << 1)) & sign) != 0;
                    SetStatusFlags((flags & ~(EflagsBits.Cf | EflagsBits.Of)) | (cf ? EflagsBits.Cf : 0) | (of ? EflagsBits.Of : 0));
                    break;
                }

            case Op.Rcl:
                {
                    // Rotate through a (bits + 1)-bit quantity: count modulo 9 / 17 for 8/16 bits (Intel SDM Vol. 2B, RCL).
                    int n = size == 1 ? count % 9 : size == 2 ? count % 17 : count;
                    res = value;
                    for (int i = 0; i < n; i++)
                    {
                        bool outBit = (res & sign) != 0;
                        res = ((res << 1) | (cf ? 1UL : 0)) & mask;
                        cf = outBit;
                    }

                    of = ((res & sign) != 0) != cf;
                    SetStatusFlags((flags & ~(EflagsBits.Cf | EflagsBits.Of)) | (cf ? EflagsBits.Cf : 0) | (of ? EflagsBits.Of : 0));
                    break;
                }

            case Op.Rcr:
                {
                    int n = size == 1 ? count % 9 : size == 2 ? count % 17 : count;
                    res = value;
                    for (int i = 0; i < n; i++)
                    {
                        bool outBit = (res & 1) != 0;
                        res = (res >> 1) | (cf ? sign : 0);
                        cf = outBit;
                    }

                    of = ((res ^ (res << 1)) & sign) != 0;
                    SetStatusFlags((flags & ~(EflagsBits.Cf | EflagsBits.Of)) | (cf ? EflagsBits.Cf : 0) | (of ? EflagsBits.Of : 0));
                    break;
                }

            case Op.Shl:
                {
                    res = count < 64 ? (value << count) & mask : 0;
                    cf = count <= bits && ((value >> (bits - count)) & 1) != 0;
                    of = ((res & sign) != 0) != cf;
                    SetShiftFlags(res, size, cf, of);
                    break;
                }

            case Op.Shr:
                {
                    res = count < 64 ? value >> count : 0;
                    cf = count <= bits && ((value >> (count - 1)) & 1) != 0;
                    // OF is defined for 1-bit shifts only (the original sign); for larger counts we report it from the last 1-bit step, which is 0.
                    of = count == 1 && (value & sign) != 0;
                    SetShiftFlags(res, size, cf, of);
                    break;
                }

            default:
                {
                    long signed = SignExtend(value, size);
                    res = (ulong)(signed >> Math.Min(count, 63)) & mask;
                    cf = ((signed >> Math.Min(count - 1, 63)) & 1) != 0;
                    SetShiftFlags(res, size, cf, of: false);
                    break;
                }
        }

        WriteDestination(ref d, size, ea, res);
    }

    /// <summary>The shift-count mask: 6 bits for a 64-bit operand, 5 otherwise.</summary>
    private static ulong ShiftCountMask(int size) => size == 8 ? 0x3FUL : 0x1FUL;

    private void SetShiftFlags(ulong res, int size, bool cf, bool of)
    {
        // AF is undefined after shifts (Intel SDM Vol. 2B); cleared here, masked by the conformance metadata.
        // SF, ZF and PF stay lazy (derived from the result when read); CF and OF are stored now.
        _ctx.Eflags = (_ctx.Eflags & ~EflagsBits.Status) | (cf ? EflagsBits.Cf : 0) | (of ? EflagsBits.Of : 0);
        _ctx.LazyOp = LazyOp.Shift;
        _ctx.LazyRes = res;
        _ctx.LazySize = size;
    }

    /// <summary>SHLD/SHRD (Intel SDM Vol. 2B): count masked to 5 bits; a count above the operand size leaves results undefined (we shift through the 2n-bit concatenation).</summary>
    private void ExecuteDoubleShift(ref DecodedInstruction d, bool left)
    {
        int size = d.OpSize;
        int count = (int)((d.Kind2 == OperandKind.Immediate ? d.Imm : _ctx.Gpr[RegCx]) & ShiftCountMask(size));
        ulong dst = ReadDestination(ref d, size, out ulong ea);
        ulong src = ReadRegister(d.Reg1, size);
        if (_faulted || count == 0)
        {
            return;
        }

        ulong mask = SizeMask(size);
        ulong sign = SignBit(size);
        ulong res;
        bool cf;
        if (size == 8)
        {
            // 64-bit: through the 128-bit concatenation (counts are at most 63, so always defined).
            if (left)
            {
                UInt128 wide = new(dst, src);
                res = (ulong)((wide << count) >> 64);
                cf = ((dst >> (64 - count)) & 1) != 0;
            }
            else
            {
                UInt128 wide = new(src, dst);
                res = (ulong)(wide >> count);
                cf = ((dst >> (count - 1)) & 1) != 0;
            }
        }
        else if (size == 4)
        {
            if (left)
            {
                ulong wide = (dst << 32) | src;
                res = (wide << count >> 32) & mask;
                cf = ((wide >> (64 - count)) & 1) != 0;
            }
            else
            {
                ulong wide = (src << 32) | dst;
                res = (wide >> count) & mask;
                cf = ((wide >> (count - 1)) & 1) != 0;
            }
        }
        else
        {
            // 16-bit counts 17-31 are undefined (Intel SDM Vol. 2B, SHLD); we shift through dst:src:dst as a 48-bit quantity.
            ulong w = left ? (dst << 32) | (src << 16) | dst : dst | (src << 16) | (dst << 32);
            if (left)
            {
                res = (w << count >> 32) & mask;
                cf = ((w >> (48 - count)) & 1) != 0;
            }
            else
            {
                res = (w >> count) & mask;
                cf = ((w >> (count - 1)) & 1) != 0;
            }
        }

        bool of = ((res ^ dst) & sign) != 0;
        SetShiftFlags(res, size, cf, of);
        WriteDestination(ref d, size, ea, res);
    }

    private void ExecuteBitTest(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        int bits = size * 8;
        ulong bitOffset = ReadOperand1(ref d, size);
        ulong value;
        ulong ea = 0;
        int bit;
        if (d.Kind0 == OperandKind.Register || d.Kind1 == OperandKind.Immediate)
        {
            bit = (int)(bitOffset & (ulong)(bits - 1));
            value = ReadDestination(ref d, size, out ea);
        }
        else
        {
            // Memory with a register bit offset: the offset is signed and may address outside the operand (Intel SDM Vol. 2A, BT).
            long offset = SignExtend(bitOffset, size);
            ea = EffectiveAddress(ref d) + (ulong)((offset >> (size switch { 2 => 4, 4 => 5, _ => 6 })) * size);
            if (d.AddrSize == 2)
            {
                ea &= 0xFFFF;
            }

            bit = (int)(offset & (bits - 1));
            value = ReadMem(d.Seg, ea, size);
        }

        if (_faulted)
        {
            return;
        }

        bool cf = ((value >> bit) & 1) != 0;
        SetFlag(EflagsBits.Cf, cf);
        ulong res = d.Op switch
        {
            Op.Bts => value | (1UL << bit),
            Op.Btr => value & ~(1UL << bit),
            Op.Btc => value ^ (1UL << bit),
            _ => value,
        };
        if (d.Op != Op.Bt)
        {
            if (d.Kind0 == OperandKind.Register)
            {
                WriteRegister(d.Reg0, size, res);
            }
            else
            {
                WriteMem(d.Seg, ea, size, res);
            }
        }
    }

    private void ExecuteBitScan(ref DecodedInstruction d, bool forward)
    {
        int size = d.OpSize;
        ulong src = ReadOperand1(ref d, size);
        if (_faulted)
        {
            return;
        }

        uint flags = GetFlags() & ~EflagsBits.Zf;
        if (src == 0)
        {
            // Destination undefined when the source is zero (Intel SDM Vol. 2A, BSF): the P6 leaves it unchanged.
            SetStatusFlags(flags | EflagsBits.Zf);
            return;
        }

        int index = forward ? BitOperations.TrailingZeroCount(src) : 63 - BitOperations.LeadingZeroCount(src);
        WriteRegister(d.Reg0, size, (ulong)index);
        SetStatusFlags(flags);
    }

    private void ExecuteBswap(ref DecodedInstruction d)
    {
        if (d.OpSize == 8)
        {
            Gpr(d.Reg0) = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(Gpr(d.Reg0));
        }
        else if (d.OpSize == 4)
        {
            WriteRegister(d.Reg0, 4, System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)_ctx.Gpr[d.Reg0]));
        }
        else
        {
            // BSWAP with a 16-bit operand is undefined (Intel SDM Vol. 2A); the P6 clears the low word.
            WriteRegister(d.Reg0, 2, 0);
        }
    }
}
