using System.Numerics;
using System.Runtime.CompilerServices;

namespace Virt.Cpu;

/// <summary>Lazy flags: the last arithmetic operation's operands, result and width; a flag is derived only when read.</summary>
public sealed partial class Cpu
{
    private const uint StatusMask = 0x8D5; // OF SF ZF AF PF CF
    private const uint FlagCf = 1;
    private const uint FlagPf = 4;
    private const uint FlagAf = 0x10;
    private const uint FlagZf = 0x40;
    private const uint FlagSf = 0x80;
    private const uint FlagTf = 0x100;
    private const uint FlagIf = 0x200;
    private const uint FlagDf = 0x400;
    private const uint FlagOf = 0x800;

    private LazyOp _lazyOp;
    private ulong _lazyDst;
    private ulong _lazySrc;
    private ulong _lazyRes;
    private int _lazySize;
    private bool _lazyCarryIn;

    private enum LazyOp : byte
    {
        None,
        Add,
        Adc,
        Sub,
        Sbb,
        Logic,
        Inc,
        Dec,

        /// <summary>SHL/SHR/SAR: SF, ZF, PF from the result; CF and OF already stored in EFLAGS; AF cleared.</summary>
        Shift,
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetLazy(LazyOp op, ulong dst, ulong src, ulong res, int size)
    {
        _lazyOp = op;
        _lazyDst = dst;
        _lazySrc = src;
        _lazyRes = res;
        _lazySize = size;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetLogicFlags(ulong res, int size)
    {
        _lazyOp = LazyOp.Logic;
        _lazyRes = res;
        _lazySize = size;
    }

    /// <summary>INC and DEC keep CF: fold the current CF into the stored flags before replacing the lazy state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetIncDec(LazyOp op, ulong dst, ulong res, int size)
    {
        uint cf = GetCarry() ? FlagCf : 0;
        _eflags = (_eflags & ~FlagCf) | cf;
        SetLazy(op, dst, 1, res, size);
    }

    /// <summary>Sets the six status flags from explicitly computed values (for instructions whose flags are not lazy).</summary>
    private void SetStatusFlags(uint flags)
    {
        _lazyOp = LazyOp.None;
        _eflags = (_eflags & ~StatusMask) | (flags & StatusMask);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool GetCarry()
    {
        ulong mask = SizeMask(_lazySize);
        return _lazyOp switch
        {
            LazyOp.None or LazyOp.Inc or LazyOp.Dec or LazyOp.Shift => (_eflags & FlagCf) != 0,
            LazyOp.Add => (_lazyRes & mask) < (_lazyDst & mask),
            LazyOp.Adc => _lazyCarryIn ? (_lazyRes & mask) <= (_lazyDst & mask) : (_lazyRes & mask) < (_lazyDst & mask),
            LazyOp.Sub => (_lazyDst & mask) < (_lazySrc & mask),
            LazyOp.Sbb => _lazyCarryIn ? (_lazyDst & mask) <= (_lazySrc & mask) : (_lazyDst & mask) < (_lazySrc & mask),
            _ => false,
        };
    }

    private uint ComputeStatusFlags()
    {
        int size = _lazySize;
        ulong mask = SizeMask(size);
        ulong sign = SignBit(size);
        ulong res = _lazyRes & mask;
        ulong dst = _lazyDst & mask;
        ulong src = _lazySrc & mask;
        uint f = 0;
        if (res == 0)
        {
            f |= FlagZf;
        }

        if ((res & sign) != 0)
        {
            f |= FlagSf;
        }

        if ((BitOperations.PopCount((uint)res & 0xFF) & 1) == 0)
        {
            f |= FlagPf;
        }

        switch (_lazyOp)
        {
            case LazyOp.Add:
            case LazyOp.Adc:
                if (GetCarry())
                {
                    f |= FlagCf;
                }

                if (((dst ^ res) & (src ^ res) & sign) != 0)
                {
                    f |= FlagOf;
                }

                f |= (uint)((dst ^ src ^ res) & FlagAf);
                break;
            case LazyOp.Sub:
            case LazyOp.Sbb:
                if (GetCarry())
                {
                    f |= FlagCf;
                }

                if (((dst ^ src) & (dst ^ res) & sign) != 0)
                {
                    f |= FlagOf;
                }

                f |= (uint)((dst ^ src ^ res) & FlagAf);
                break;
            case LazyOp.Inc:
                f |= _eflags & FlagCf;
                if (res == sign)
                {
                    f |= FlagOf;
                }

                if ((res & 0xF) == 0)
                {
                    f |= FlagAf;
                }

                break;
            case LazyOp.Dec:
                f |= _eflags & FlagCf;
                if (res == sign - 1)
                {
                    f |= FlagOf;
                }

                if ((res & 0xF) == 0xF)
                {
                    f |= FlagAf;
                }

                break;
            case LazyOp.Shift:
                f |= _eflags & (FlagCf | FlagOf);
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
        if (_lazyOp != LazyOp.None)
        {
            _eflags = (_eflags & ~StatusMask) | ComputeStatusFlags();
            _lazyOp = LazyOp.None;
        }

        return _eflags;
    }

    /// <summary>Replaces EFLAGS, keeping the fixed bits (1 set; 3, 5, 15 clear) as the hardware does.</summary>
    private void SetFlagsRaw(uint value)
    {
        _lazyOp = LazyOp.None;
        _eflags = (value & 0x003F7FD5) | 2;
    }

    /// <summary>Evaluates an x86 condition code (0-15: O NO B AE E NE BE A S NS P NP L GE LE G).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Condition(int cc)
    {
        if (_lazyOp != LazyOp.None)
        {
            // ZF and SF come straight from the result whatever the operation.
            switch (cc)
            {
                case 4: return (_lazyRes & SizeMask(_lazySize)) == 0;
                case 5: return (_lazyRes & SizeMask(_lazySize)) != 0;
                case 8: return (_lazyRes & SignBit(_lazySize)) != 0;
                case 9: return (_lazyRes & SignBit(_lazySize)) == 0;
                default: break;
            }
        }

        if (_lazyOp == LazyOp.Sub)
        {
            // Fast paths for the common CMP/SUB + Jcc pair, straight from the operands.
            int size = _lazySize;
            ulong mask = SizeMask(size);
            switch (cc)
            {
                case 2: return (_lazyDst & mask) < (_lazySrc & mask);
                case 3: return (_lazyDst & mask) >= (_lazySrc & mask);
                case 4: return (_lazyRes & mask) == 0;
                case 5: return (_lazyRes & mask) != 0;
                case 6: return (_lazyDst & mask) <= (_lazySrc & mask);
                case 7: return (_lazyDst & mask) > (_lazySrc & mask);
                case 12: return SignExtend(_lazyDst, size) < SignExtend(_lazySrc, size);
                case 13: return SignExtend(_lazyDst, size) >= SignExtend(_lazySrc, size);
                case 14: return SignExtend(_lazyDst, size) <= SignExtend(_lazySrc, size);
                case 15: return SignExtend(_lazyDst, size) > SignExtend(_lazySrc, size);
                default: break;
            }
        }

        uint f = GetFlags();
        bool result = (cc >> 1) switch
        {
            0 => (f & FlagOf) != 0,
            1 => (f & FlagCf) != 0,
            2 => (f & FlagZf) != 0,
            3 => (f & (FlagCf | FlagZf)) != 0,
            4 => (f & FlagSf) != 0,
            5 => (f & FlagPf) != 0,
            6 => ((f & FlagSf) != 0) != ((f & FlagOf) != 0),
            _ => (f & FlagZf) != 0 || (((f & FlagSf) != 0) != ((f & FlagOf) != 0)),
        };
        return result ^ ((cc & 1) != 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetFlag(uint flag, bool value)
    {
        GetFlags();
        _eflags = value ? _eflags | flag : _eflags & ~flag;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Parity(ulong value) => (BitOperations.PopCount((uint)value & 0xFF) & 1) == 0 ? FlagPf : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ZeroSignParity(ulong res, int size)
    {
        ulong r = res & SizeMask(size);
        uint f = Parity(r);
        if (r == 0)
        {
            f |= FlagZf;
        }

        if ((r & SignBit(size)) != 0)
        {
            f |= FlagSf;
        }

        return f;
    }
}
