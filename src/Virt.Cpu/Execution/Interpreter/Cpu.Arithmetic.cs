using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>Integer arithmetic: ADD, ADC, SUB, SBB, CMP (once for every operand form), INC/DEC/NEG, MUL/IMUL/DIV/IDIV, BCD adjusts.</summary>
public sealed partial class Cpu
{

    /// <summary>
    /// A two-operand ALU instruction over any operand form: read the destination and the source, compute
    /// (<typeparamref name="TOperation"/>, the semantics), write back unless CMP or TEST. <typeparamref name="TDestination"/>
    /// and <typeparamref name="TSource"/> choose the operand access (see Cpu.OperandAccess.cs); on a fault nothing is
    /// written and the fault stays pending. All three are structs, so the JIT compiles one specialised body per form with
    /// no switch left in it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExecuteAlu<TDestination, TSource, TOperation>(ref DecodedInstruction d, int size)
        where TDestination : struct, IDestinationAccess
        where TSource : struct, ISourceAccess
        where TOperation : struct, IAluOperation
    {
        if (!TDestination.TryRead(this, ref d, size, out ulong dst, out ulong ea) || !TSource.TryRead(this, ref d, size, out ulong src))
        {
            return;
        }

        if ((TDestination.ChecksFaultState || TSource.ChecksFaultState) && _faulted)
        {
            return;
        }

        ulong res = TOperation.Compute(this, dst, src, size);
        if (TOperation.WritesBack)
        {
            TDestination.Write(this, ref d, size, ea, res);
        }
    }

    /// <summary>
    /// The register forms of ADD..TEST (register destination, register or immediate source), inlined into the run loop.
    /// The same semantics (<typeparamref name="TOperation"/>) as every other form; the register access is spelled out
    /// rather than taken through the accessor structs because each inlining level spends the JIT's inlining budget for the
    /// run loop, and past it the JIT stops inlining the branch helpers every loop needs (measured: JumpNear and Condition
    /// became calls).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExecuteAluRegister<TOperation>(ref DecodedInstruction d)
        where TOperation : struct, IAluOperation
    {
        int size = d.OpSize;
        ulong dst = ReadRegister(d.Reg0, size);
        ulong src = d.Kind1 == OperandKind.Immediate ? d.Imm : ReadRegister(d.Reg1, size);
        ulong res = TOperation.Compute(this, dst, src, size);
        if (TOperation.WritesBack)
        {
            WriteRegister(d.Reg0, size, res);
        }
    }

    /// <summary>INC and DEC of a register, inlined into the run loop (see <see cref="ExecuteAluRegister"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExecuteIncDecRegister(ref DecodedInstruction d, bool increment)
    {
        int size = d.OpSize;
        ulong dst = ReadRegister(d.Reg0, size);
        ulong res = increment ? dst + 1 : dst - 1;
        SetIncDec(increment ? LazyOp.Inc : LazyOp.Dec, dst, res, size);
        WriteRegister(d.Reg0, size, res);
    }

    /// <summary>ADD..TEST with any operands (LOCK forms, 8/16-bit memory, 16-bit addressing): out of line, one body per operation.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteAluGeneric<TOperation>(ref DecodedInstruction d)
        where TOperation : struct, IAluOperation =>
        ExecuteAlu<GenericDestination, GenericSource, TOperation>(ref d, d.OpSize);

    /// <summary>INC and DEC with any operand (out of line).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteIncDecGeneric(ref DecodedInstruction d, bool increment) =>
        ExecuteIncDec<GenericDestination>(ref d, increment, d.OpSize);

    /// <summary>INC and DEC over any destination form: CF is kept (see <see cref="SetIncDec"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExecuteIncDec<TDestination>(ref DecodedInstruction d, bool increment, int size)
        where TDestination : struct, IDestinationAccess
    {
        if (!TDestination.TryRead(this, ref d, size, out ulong dst, out ulong ea) || (TDestination.ChecksFaultState && _faulted))
        {
            return;
        }

        ulong res = increment ? dst + 1 : dst - 1;
        SetIncDec(increment ? LazyOp.Inc : LazyOp.Dec, dst, res, size);
        TDestination.Write(this, ref d, size, ea, res);
    }

    private void ExecuteNeg(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong src = ReadDestination(ref d, size, out ulong ea);
        if (_faulted)
        {
            return;
        }

        ulong res = 0 - src;
        SetLazy(LazyOp.Sub, 0, src, res, size);
        WriteDestination(ref d, size, ea, res);
    }

    /// <summary>Flags after MUL/IMUL: CF = OF = upper half significant; SF, ZF, PF from the low result as the P6 leaves them, AF cleared (all undefined per the SDM).</summary>
    private void SetMultiplyFlags(bool overflow, ulong low, int size)
    {
        uint f = ZeroSignParity(low, size);
        if (overflow)
        {
            f |= EflagsBits.Cf | EflagsBits.Of;
        }

        SetStatusFlags(f);
    }

    private void ExecuteMul(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong src = ReadOperand0(ref d, size);
        if (_faulted)
        {
            return;
        }

        ulong a = ReadRegister(RegAx, size);
        if (size == 8)
        {
            // MUL r/m64: RDX:RAX = RAX * r/m64; CF = OF = RDX != 0 (Intel SDM Vol. 2B, MUL).
            ulong high = Math.BigMul(a, src, out ulong low);
            _ctx.Gpr[RegAx] = low;
            _ctx.Gpr[RegDx] = high;
            SetMultiplyFlags(high != 0, low, 8);
            return;
        }

        ulong product = a * src;
        switch (size)
        {
            case 1:
                WriteRegister(RegAx, 2, product);
                SetMultiplyFlags((product >> 8) != 0, product, 1);
                break;
            case 2:
                WriteRegister(RegAx, 2, product);
                WriteRegister(RegDx, 2, product >> 16);
                SetMultiplyFlags((product >> 16) != 0, product, 2);
                break;
            default:
                WriteRegister(RegAx, 4, product);
                WriteRegister(RegDx, 4, product >> 32);
                SetMultiplyFlags((product >> 32) != 0, product, 4);
                break;
        }
    }

    private void ExecuteImul1(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong src = ReadOperand0(ref d, size);
        if (_faulted)
        {
            return;
        }

        if (size == 8)
        {
            // IMUL r/m64: RDX:RAX = RAX * r/m64, signed; CF = OF = the product does not fit 64 bits (Intel SDM Vol. 2A, IMUL).
            long high = Math.BigMul((long)_ctx.Gpr[RegAx], (long)src, out long low);
            _ctx.Gpr[RegAx] = (ulong)low;
            _ctx.Gpr[RegDx] = (ulong)high;
            SetMultiplyFlags(high != (low >> 63), (ulong)low, 8);
            return;
        }

        long product = SignExtend(ReadRegister(RegAx, size), size) * SignExtend(src, size);
        switch (size)
        {
            case 1:
                WriteRegister(RegAx, 2, (ulong)product);
                SetMultiplyFlags(product != (sbyte)product, (ulong)product, 1);
                break;
            case 2:
                WriteRegister(RegAx, 2, (ulong)product);
                WriteRegister(RegDx, 2, (ulong)(product >> 16));
                SetMultiplyFlags(product != (short)product, (ulong)product, 2);
                break;
            default:
                WriteRegister(RegAx, 4, (ulong)product);
                WriteRegister(RegDx, 4, (ulong)(product >> 32));
                SetMultiplyFlags(product != (int)product, (ulong)product, 4);
                break;
        }
    }

    private void ExecuteImulN(ref DecodedInstruction d, bool threeOperand)
    {
        int size = d.OpSize;
        long a;
        long b;
        if (threeOperand)
        {
            a = SignExtend(ReadOperand1(ref d, size), size);
            b = SignExtend(d.Imm, size);
        }
        else
        {
            a = SignExtend(ReadRegister(d.Reg0, size), size);
            b = SignExtend(ReadOperand1(ref d, size), size);
        }

        if (_faulted)
        {
            return;
        }

        if (size == 8)
        {
            long high = Math.BigMul(a, b, out long low);
            WriteRegister(d.Reg0, 8, (ulong)low);
            SetMultiplyFlags(high != (low >> 63), (ulong)low, 8);
            return;
        }

        long product = a * b;
        WriteRegister(d.Reg0, size, (ulong)product);
        SetMultiplyFlags(product != SignExtend((ulong)product, size), (ulong)product, size);
    }

    private void ExecuteDiv(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong divisor = ReadOperand0(ref d, size);
        if (_faulted)
        {
            return;
        }

        if (divisor == 0)
        {
            RaiseFault(VectorDivideError);
            return;
        }

        if (size == 8)
        {
            // DIV r/m64: RDX:RAX / r/m64; a quotient above 64 bits is #DE (Intel SDM Vol. 2A, DIV).
            UInt128 dividend = new(_ctx.Gpr[RegDx], _ctx.Gpr[RegAx]);
            UInt128 q = dividend / divisor;
            if (q > ulong.MaxValue)
            {
                RaiseFault(VectorDivideError);
                return;
            }

            _ctx.Gpr[RegAx] = (ulong)q;
            _ctx.Gpr[RegDx] = (ulong)(dividend % divisor);
            return;
        }

        switch (size)
        {
            case 1:
                {
                    ulong dividend = ReadRegister(RegAx, 2);
                    ulong q = dividend / divisor;
                    if (q > 0xFF)
                    {
                        RaiseFault(VectorDivideError);
                        return;
                    }

                    WriteRegister(RegAx, 2, ((dividend % divisor) << 8) | q);
                    break;
                }

            case 2:
                {
                    ulong dividend = (ReadRegister(RegDx, 2) << 16) | ReadRegister(RegAx, 2);
                    ulong q = dividend / divisor;
                    if (q > 0xFFFF)
                    {
                        RaiseFault(VectorDivideError);
                        return;
                    }

                    WriteRegister(RegAx, 2, q);
                    WriteRegister(RegDx, 2, dividend % divisor);
                    break;
                }

            default:
                {
                    ulong dividend = (ReadRegister(RegDx, 4) << 32) | ReadRegister(RegAx, 4);
                    ulong q = dividend / divisor;
                    if (q > 0xFFFFFFFF)
                    {
                        RaiseFault(VectorDivideError);
                        return;
                    }

                    WriteRegister(RegAx, 4, q);
                    WriteRegister(RegDx, 4, dividend % divisor);
                    break;
                }
        }

        // Flags are undefined after DIV (Intel SDM Vol. 2A); we leave them unchanged.
    }

    private void ExecuteIdiv(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        long divisor = SignExtend(ReadOperand0(ref d, size), size);
        if (_faulted)
        {
            return;
        }

        if (divisor == 0)
        {
            RaiseFault(VectorDivideError);
            return;
        }

        if (size == 8)
        {
            // IDIV r/m64: RDX:RAX / r/m64, signed; a quotient outside 64 bits is #DE (Intel SDM Vol. 2A, IDIV).
            Int128 wide = (Int128)new UInt128(_ctx.Gpr[RegDx], _ctx.Gpr[RegAx]);
            Int128 wideQ = wide / divisor;
            if (wideQ > long.MaxValue || wideQ < long.MinValue)
            {
                RaiseFault(VectorDivideError);
                return;
            }

            _ctx.Gpr[RegAx] = (ulong)(long)wideQ;
            _ctx.Gpr[RegDx] = (ulong)(long)(wide % divisor);
            return;
        }

        long dividend = size switch
        {
            1 => (short)ReadRegister(RegAx, 2),
            2 => (int)((ReadRegister(RegDx, 2) << 16) | ReadRegister(RegAx, 2)),
            _ => (long)((ReadRegister(RegDx, 4) << 32) | ReadRegister(RegAx, 4)),
        };

        // long.MinValue / -1 overflows on the host too: it is a #DE on the guest.
        if (dividend == long.MinValue && divisor == -1)
        {
            RaiseFault(VectorDivideError);
            return;
        }

        long q = dividend / divisor;
        long r = dividend % divisor;
        if (q != SignExtend((ulong)q, size))
        {
            RaiseFault(VectorDivideError);
            return;
        }

        if (size == 1)
        {
            WriteRegister(RegAx, 2, ((ulong)(byte)r << 8) | (byte)q);
        }
        else
        {
            WriteRegister(RegAx, size, (ulong)q);
            WriteRegister(RegDx, size, (ulong)r);
        }
    }

    /// <summary>DAA / DAS, as the pseudo-code in Intel SDM Vol. 2A gives them.</summary>
    private void ExecuteDaa(bool subtract)
    {
        uint flags = GetFlags();
        uint oldAl = (byte)_ctx.Gpr[RegAx];
        bool oldCf = (flags & EflagsBits.Cf) != 0;
        uint al = oldAl;
        bool cf = false;
        bool af = false;
        if ((al & 0xF) > 9 || (flags & EflagsBits.Af) != 0)
        {
            al = subtract ? al - 6 : al + 6;
            cf = oldCf || (subtract ? oldAl < 6 : al > 0xFF);
            af = true;
        }

        if (oldAl > 0x99 || oldCf)
        {
            al = subtract ? al - 0x60 : al + 0x60;
            cf = true;
        }

        al &= 0xFF;
        WriteRegister(RegAx, 1, al);
        uint f = ZeroSignParity(al, 1);
        if (cf)
        {
            f |= EflagsBits.Cf;
        }

        if (af)
        {
            f |= EflagsBits.Af;
        }

        // OF is undefined; the P6 computes it like the add/sub of the adjustment (left clear here, masked by tests).
        SetStatusFlags(f);
    }

    /// <summary>AAA / AAS (Intel SDM Vol. 2A): the 386+ form that adjusts AX as a whole.</summary>
    private void ExecuteAaa(bool subtract)
    {
        uint flags = GetFlags();
        uint ax = (ushort)_ctx.Gpr[RegAx];
        uint f = flags & ~EflagsBits.Status;
        if ((ax & 0xF) > 9 || (flags & EflagsBits.Af) != 0)
        {
            ax = subtract ? (ax - 6 - 0x100) & 0xFFFF : ax + 0x106;
            f |= EflagsBits.Af | EflagsBits.Cf;
        }

        ax = (ax & 0xFF0F) & 0xFFFF;
        WriteRegister(RegAx, 2, ax);
        _ctx.LazyOp = LazyOp.None;
        _ctx.Eflags = (f & EflagsBits.Status) | (_ctx.Eflags & ~EflagsBits.Status) | ZeroSignParity(ax, 1);
    }

    private void ExecuteAam(ref DecodedInstruction d)
    {
        uint imm = (uint)d.Imm & 0xFF;
        if (imm == 0)
        {
            RaiseFault(VectorDivideError);
            return;
        }

        uint al = (byte)_ctx.Gpr[RegAx];
        uint result = ((al / imm) << 8) | (al % imm);
        WriteRegister(RegAx, 2, result);
        SetStatusFlags(ZeroSignParity(result, 1));
    }

    private void ExecuteAad(ref DecodedInstruction d)
    {
        uint imm = (uint)d.Imm & 0xFF;
        uint ax = (ushort)_ctx.Gpr[RegAx];
        uint al = ((ax & 0xFF) + ((ax >> 8) * imm)) & 0xFF;
        WriteRegister(RegAx, 2, al);
        SetStatusFlags(ZeroSignParity(al, 1));
    }
}
