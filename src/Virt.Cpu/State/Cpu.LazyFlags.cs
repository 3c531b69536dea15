using System.Numerics;
using System.Runtime.CompilerServices;

namespace Virt.Cpu;

/// <summary>Lazy flags: the last arithmetic operation's operands, result and width; a flag is derived only when read.</summary>
public sealed partial class Cpu
{

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetLazy(LazyOp op, ulong dst, ulong src, ulong res, int size)
    {
        _ctx.LazyOp = op;
        _ctx.LazyDst = dst;
        _ctx.LazySrc = src;
        _ctx.LazyRes = res;
        _ctx.LazySize = size;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetLogicFlags(ulong res, int size)
    {
        _ctx.LazyOp = LazyOp.Logic;
        _ctx.LazyRes = res;
        _ctx.LazySize = size;
    }

    /// <summary>INC and DEC keep CF: fold the current CF into the stored flags before replacing the lazy state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetIncDec(LazyOp op, ulong dst, ulong res, int size)
    {
        uint cf = GetCarry() ? EflagsBits.Cf : 0;
        _ctx.Eflags = (_ctx.Eflags & ~EflagsBits.Cf) | cf;
        SetLazy(op, dst, 1, res, size);
    }

    /// <summary>Sets the six status flags from explicitly computed values (for instructions whose flags are not lazy).</summary>
    private void SetStatusFlags(uint flags)
    {
        _ctx.LazyOp = LazyOp.None;
        _ctx.Eflags = (_ctx.Eflags & ~EflagsBits.Status) | (flags & EflagsBits.Status);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool GetCarry()
    {
        ulong mask = SizeMask(_ctx.LazySize);
        return _ctx.LazyOp switch
        {
            LazyOp.None or LazyOp.Inc or LazyOp.Dec or LazyOp.Shift => (_ctx.Eflags & EflagsBits.Cf) != 0,
            LazyOp.Add => (_ctx.LazyRes & mask) < (_ctx.LazyDst & mask),
            LazyOp.Adc => _ctx.LazyCarryIn ? (_ctx.LazyRes & mask) <= (_ctx.LazyDst & mask) : (_ctx.LazyRes & mask) < (_ctx.LazyDst & mask),
            LazyOp.Sub => (_ctx.LazyDst & mask) < (_ctx.LazySrc & mask),
            LazyOp.Sbb => _ctx.LazyCarryIn ? (_ctx.LazyDst & mask) <= (_ctx.LazySrc & mask) : (_ctx.LazyDst & mask) < (_ctx.LazySrc & mask),
            _ => false,
        };
    }

    private uint ComputeStatusFlags()
    {
        int size = _ctx.LazySize;
        ulong mask = SizeMask(size);
        ulong sign = SignBit(size);
        ulong res = _ctx.LazyRes & mask;
        ulong dst = _ctx.LazyDst & mask;
        ulong src = _ctx.LazySrc & mask;
        uint f = 0;
        if (res == 0)
        {
            f |= EflagsBits.Zf;
        }

        if ((res & sign) != 0)
        {
            f |= EflagsBits.Sf;
        }

        if ((BitOperations.PopCount((uint)res & 0xFF) & 1) == 0)
        {
            f |= EflagsBits.Pf;
        }

        switch (_ctx.LazyOp)
        {
            case LazyOp.Add:
            case LazyOp.Adc:
                if (GetCarry())
                {
                    f |= EflagsBits.Cf;
                }

                if (((dst ^ res) & (src ^ res) & sign) != 0)
                {
                    f |= EflagsBits.Of;
                }

                f |= (uint)((dst ^ src ^ res) & EflagsBits.Af);
                break;
            case LazyOp.Sub:
            case LazyOp.Sbb:
                if (GetCarry())
                {
                    f |= EflagsBits.Cf;
                }

                if (((dst ^ src) & (dst ^ res) & sign) != 0)
                {
                    f |= EflagsBits.Of;
                }

                f |= (uint)((dst ^ src ^ res) & EflagsBits.Af);
                break;
            case LazyOp.Inc:
                f |= _ctx.Eflags & EflagsBits.Cf;
                if (res == sign)
                {
                    f |= EflagsBits.Of;
                }

                if ((res & 0xF) == 0)
                {
                    f |= EflagsBits.Af;
                }

                break;
            case LazyOp.Dec:
                f |= _ctx.Eflags & EflagsBits.Cf;
                if (res == sign - 1)
                {
                    f |= EflagsBits.Of;
                }

                if ((res & 0xF) == 0xF)
                {
                    f |= EflagsBits.Af;
                }

                break;
            case LazyOp.Shift:
                f |= _ctx.Eflags & (EflagsBits.Cf | EflagsBits.Of);
                break;
            default:
                // Logic: CF = OF = 0; AF is undefined (Intel SDM Vol. 2, AND/OR/XOR/TEST); we clear it as the P6 does.
                break;
        }

        return f;
    }

    /// <summary>EFLAGS with the lazily computed status flags folded in.</summary>
    private uint GetFlags()
    {
        if (_ctx.LazyOp != LazyOp.None)
        {
            _ctx.Eflags = (_ctx.Eflags & ~EflagsBits.Status) | ComputeStatusFlags();
            _ctx.LazyOp = LazyOp.None;
        }

        return _ctx.Eflags;
    }

    /// <summary>Replaces EFLAGS, keeping the fixed bits (1 set; 3, 5, 15 clear) as the hardware does.</summary>
    private void SetFlagsRaw(uint value)
    {
        _ctx.LazyOp = LazyOp.None;
        _ctx.Eflags = (value & EflagsBits.Defined) | 2;
    }

    /// <summary>Evaluates an x86 condition code (0-15: O NO B AE E NE BE A S NS P NP L GE LE G).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Condition(int cc)
    {
        if (_ctx.LazyOp != LazyOp.None)
        {
            // ZF and SF come straight from the result whatever the operation.
            switch (cc)
            {
                case 4: return (_ctx.LazyRes & SizeMask(_ctx.LazySize)) == 0;
                case 5: return (_ctx.LazyRes & SizeMask(_ctx.LazySize)) != 0;
                case 8: return (_ctx.LazyRes & SignBit(_ctx.LazySize)) != 0;
                case 9: return (_ctx.LazyRes & SignBit(_ctx.LazySize)) == 0;
                default: break;
            }
        }

        if (_ctx.LazyOp == LazyOp.Sub)
        {
            // Fast paths for the common CMP/SUB + Jcc pair, straight from the operands.
            int size = _ctx.LazySize;
            ulong mask = SizeMask(size);
            switch (cc)
            {
                case 2: return (_ctx.LazyDst & mask) < (_ctx.LazySrc & mask);
                case 3: return (_ctx.LazyDst & mask) >= (_ctx.LazySrc & mask);
                case 4: return (_ctx.LazyRes & mask) == 0;
                case 5: return (_ctx.LazyRes & mask) != 0;
                case 6: return (_ctx.LazyDst & mask) <= (_ctx.LazySrc & mask);
                case 7: return (_ctx.LazyDst & mask) > (_ctx.LazySrc & mask);
                case 12: return SignExtend(_ctx.LazyDst, size) < SignExtend(_ctx.LazySrc, size);
                case 13: return SignExtend(_ctx.LazyDst, size) >= SignExtend(_ctx.LazySrc, size);
                case 14: return SignExtend(_ctx.LazyDst, size) <= SignExtend(_ctx.LazySrc, size);
                case 15: return SignExtend(_ctx.LazyDst, size) > SignExtend(_ctx.LazySrc, size);
                default: break;
            }
        }

        uint f = GetFlags();
        bool result = (cc >> 1) switch
        {
            0 => (f & EflagsBits.Of) != 0,
            1 => (f & EflagsBits.Cf) != 0,
            2 => (f & EflagsBits.Zf) != 0,
            3 => (f & (EflagsBits.Cf | EflagsBits.Zf)) != 0,
            4 => (f & EflagsBits.Sf) != 0,
            5 => (f & EflagsBits.Pf) != 0,
            6 => ((f & EflagsBits.Sf) != 0) != ((f & EflagsBits.Of) != 0),
            _ => (f & EflagsBits.Zf) != 0 || (((f & EflagsBits.Sf) != 0) != ((f & EflagsBits.Of) != 0)),
        };
        return result ^ ((cc & 1) != 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetFlag(uint flag, bool value)
    {
        GetFlags();
        _ctx.Eflags = value ? _ctx.Eflags | flag : _ctx.Eflags & ~flag;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Parity(ulong value) => (BitOperations.PopCount((uint)value & 0xFF) & 1) == 0 ? EflagsBits.Pf : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ZeroSignParity(ulong res, int size)
    {
        ulong r = res & SizeMask(size);
        uint f = Parity(r);
        if (r == 0)
        {
            f |= EflagsBits.Zf;
        }

        if ((r & SignBit(size)) != 0)
        {
            f |= EflagsBits.Sf;
        }

        return f;
    }
}
