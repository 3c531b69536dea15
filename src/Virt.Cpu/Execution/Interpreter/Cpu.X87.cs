using Virt.Cpu.Decoding;
using Virt.Cpu.X87;

namespace Virt.Cpu;

/// <summary>
/// x87 FPU instruction execution (Intel SDM Vol. 1 ch. 8, Vol. 2 instruction pages). The numeric work is done by
/// <see cref="X87Math"/> on the register file in <see cref="X87State"/>; this file decodes the escape opcode (D8-DF plus the
/// ModR/M byte, the 11-bit FOP that the translation stores in <see cref="DecodedInstruction.Imm"/> together with the form
/// bits it classified once: WAIT prefix, control, no-wait), applies CR0.EM/MP/TS/NE and keeps FIP/FDP/FOP.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>Imm bit: the instruction carried an explicit FWAIT (9B) that Iced folded into it (FSTCW, FSTSW, FINIT ...).</summary>
    internal const uint X87WaitPrefix = 1u << 16;

    /// <summary>
    /// Imm bit, set at translation: a control instruction (FLDENV, FLDCW, FSTENV, FSTCW, FRSTOR, FSAVE, FSTSW, FCLEX,
    /// FINIT), which leaves FIP, FDP and FOP alone (Intel SDM Vol. 1, 8.1.8).
    /// </summary>
    internal const uint X87ControlForm = 1u << 18;

    /// <summary>Imm bit, set at translation: a no-wait form (FNSTENV, FNSTCW, FNSAVE, FNSTSW, FNCLEX, FNINIT), which does not report a pending exception first (Vol. 1, 8.6).</summary>
    internal const uint X87NoWaitForm = 1u << 19;

    /// <summary>
    /// Classifies an escape opcode once, at translation: the <see cref="X87ControlForm"/> and <see cref="X87NoWaitForm"/>
    /// bits for the 11-bit FOP <paramref name="fop"/> (the low three bits of the escape byte, then ModR/M).
    /// </summary>
    internal static uint X87FormBits(int fop)
    {
        int group = fop >> 8;
        int modrm = fop & 0xFF;
        bool memory = modrm < 0xC0;
        int reg = (modrm >> 3) & 7;
        bool control = memory
            ? (group == 1 && reg >= 4) || (group == 5 && reg is 4 or 6 or 7)
            : (group == 3 && modrm is >= 0xE0 and <= 0xE7) || (group == 7 && modrm == 0xE0);
        bool noWait = memory
            ? (group == 1 && reg is 6 or 7) || (group == 5 && reg is 6 or 7)
            : (group == 3 && modrm is >= 0xE0 and <= 0xE7) || (group == 7 && modrm == 0xE0);
        return (control ? X87ControlForm : 0) | (noWait ? X87NoWaitForm : 0);
    }

    private const int VectorMathFault = 16;

    private readonly X87State _fpu = new();
    private bool _ferr;

    /// <summary>
    /// The legacy FERR# output (CR0.NE = 0): true while an unmasked x87 exception is pending and a waiting x87 instruction
    /// has reported it. A PC routes FERR# to IRQ13 through the chipset; see <see cref="IFpuErrorOutput"/>.
    /// </summary>
    public bool FerrAsserted => _ferr;

    private void SetFerr(bool asserted)
    {
        if (_ferr != asserted)
        {
            _ferr = asserted;
            _fpuError?.OnFerrChanged(asserted);
        }
    }

    /// <summary>The pending-error check of WAIT and of every waiting x87 instruction: #MF with CR0.NE, else FERR#.</summary>
    /// <returns>False when #MF was raised.</returns>
    private bool X87CheckPendingError()
    {
        if (!_fpu.ErrorPending)
        {
            return true;
        }

        if ((_ctx.Cr0 & Cr0Bits.Ne) != 0)
        {
            RaiseFault(VectorMathFault);
            return false;
        }

        SetFerr(true);
        return true;
    }

    private void ExecuteEsc(ref DecodedInstruction d)
    {
        uint imm = d.Imm;
        int fop = (int)(imm & 0x7FF);
        int group = fop >> 8;
        int modrm = fop & 0xFF;
        bool memory = modrm < 0xC0;
        int reg = (modrm >> 3) & 7;

        // An explicit WAIT in front (9B): Intel SDM Vol. 2B, WAIT: #NM when MP and TS are both set.
        if ((imm & X87WaitPrefix) != 0)
        {
            if ((_ctx.Cr0 & (Cr0Bits.Mp | Cr0Bits.Ts)) == (Cr0Bits.Mp | Cr0Bits.Ts))
            {
                RaiseFault(VectorDeviceNotAvailable);
                return;
            }

            if (!X87CheckPendingError())
            {
                return;
            }
        }

        // Intel SDM Vol. 3A, 2.5 and Table 2-2: EM or TS makes every escape #NM.
        if ((_ctx.Cr0 & (Cr0Bits.Em | Cr0Bits.Ts)) != 0)
        {
            RaiseFault(VectorDeviceNotAvailable);
            return;
        }

        bool control = (imm & X87ControlForm) != 0;
        bool noWait = (imm & X87NoWaitForm) != 0;

        // Intel SDM Vol. 1, 8.6: a waiting instruction first reports a pending unmasked exception.
        if (!noWait && !X87CheckPendingError())
        {
            return;
        }

        uint ea = memory ? EffectiveAddress(ref d) : 0;
        if (!control)
        {
            // Intel SDM Vol. 1, 8.1.8: the last non-control instruction's pointers and opcode.
            _fpu.InstructionOffset = _ctx.InstructionStart;
            _fpu.InstructionSelector = _ctx.SegSelector[Cs];
            _fpu.Opcode = (ushort)fop;
            if (memory)
            {
                _fpu.DataOffset = ea;
                _fpu.DataSelector = _ctx.SegSelector[d.Seg];
            }
        }

        if (memory)
        {
            ExecuteX87Memory(ref d, group, reg, ea);
        }
        else
        {
            ExecuteX87Register(group, modrm);
        }
    }

    private void ExecuteX87Register(int group, int modrm)
    {
        int i = modrm & 7;
        int reg = (modrm >> 3) & 7;
        X87Context ctx = _fpu.CreateContext();
        switch (group)
        {
            case 0:
                if (reg is 2 or 3)
                {
                    X87Compare(i, quiet: false, pops: reg - 2, ref ctx);
                }
                else
                {
                    X87Arithmetic(reg, 0, 0, i, pop: false, ref ctx);
                }

                break;
            case 4:
            case 6:
                if (reg is 2 or 3)
                {
                    if (group == 6 && modrm != 0xD9)
                    {
                        RaiseFault(VectorInvalidOpcode);
                        return;
                    }

                    X87Compare(i, quiet: false, pops: group == 6 ? 2 : reg - 2, ref ctx);
                }
                else
                {
                    X87Arithmetic(reg >= 4 ? reg ^ 1 : reg, i, i, 0, pop: group == 6, ref ctx);
                }

                break;
            case 1:
                if (!ExecuteX87D9(modrm, i, reg, ref ctx))
                {
                    return;
                }

                break;
            case 2:
                if (reg < 4)
                {
                    X87Cmov(i, reg switch { 0 => 2, 1 => 4, 2 => 6, _ => 10 }, ref ctx);
                }
                else if (modrm == 0xE9)
                {
                    X87Compare(1, quiet: true, pops: 2, ref ctx);
                }
                else
                {
                    RaiseFault(VectorInvalidOpcode);
                    return;
                }

                break;
            case 3:
                if (reg < 4)
                {
                    X87Cmov(i, reg switch { 0 => 3, 1 => 5, 2 => 7, _ => 11 }, ref ctx);
                }
                else if (reg is 5 or 6)
                {
                    X87CompareEflags(i, quiet: reg == 5, pop: false, ref ctx);
                }
                else if (modrm == 0xE2)
                {
                    _fpu.ClearExceptions();
                    SetFerr(false);
                    return;
                }
                else if (modrm == 0xE3)
                {
                    _fpu.Initialize();
                    SetFerr(false);
                    return;
                }
                else if (modrm is 0xE0 or 0xE1 or 0xE4)
                {
                    return; // FNENI, FNDISI, FNSETPM: no-ops on 287+ (Intel SDM Vol. 2 opcode map, Table A-?).
                }
                else
                {
                    RaiseFault(VectorInvalidOpcode);
                    return;
                }

                break;
            case 5:
                switch (reg)
                {
                    case 0: _fpu.Free(i); return;
                    case 2:
                    case 3:
                        if (!_fpu.CheckOperand(0, ref ctx))
                        {
                            if (!ctx.SuppressWrite)
                            {
                                _fpu.SetSt(i, Float80.Indefinite);
                                if (reg == 3)
                                {
                                    _fpu.Pop();
                                }
                            }
                        }
                        else
                        {
                            _fpu.SetSt(i, _fpu.St(0));
                            if (reg == 3)
                            {
                                _fpu.Pop();
                            }
                        }

                        break;
                    case 4:
                    case 5:
                        X87Compare(i, quiet: true, pops: reg - 4, ref ctx);
                        break;
                    default:
                        RaiseFault(VectorInvalidOpcode);
                        return;
                }

                break;
            default:
                if (modrm == 0xE0)
                {
                    WriteRegister(RegAx, 2, _fpu.StatusWord);
                    return;
                }

                if (reg is 5 or 6)
                {
                    X87CompareEflags(i, quiet: reg == 5, pop: true, ref ctx);
                    break;
                }

                if (reg == 0)
                {
                    // FFREEP (undocumented, DF C0+i): free and pop.
                    _fpu.Free(i);
                    _fpu.Top++;
                    return;
                }

                RaiseFault(VectorInvalidOpcode);
                return;
        }

        X87Finish(ref ctx);
    }

    /// <summary>Merges the operation's flags; an unmasked exception becomes pending (reported by the next waiting instruction).</summary>
    private void X87Finish(ref X87Context ctx) => _fpu.Merge(ctx);

    /// <summary>The D9 register forms.</summary>
    /// <returns>False when nothing is left to merge.</returns>
    private bool ExecuteX87D9(int modrm, int i, int reg, ref X87Context ctx)
    {
        switch (reg)
        {
            case 0:
                {
                    Float80 v = _fpu.CheckOperand(i, ref ctx) ? _fpu.St(i) : Float80.Indefinite;
                    if (!ctx.SuppressWrite)
                    {
                        _fpu.Push(v, ref ctx);
                    }

                    return true;
                }

            case 1:
                {
                    bool ok0 = _fpu.CheckOperand(0, ref ctx);
                    bool oki = _fpu.CheckOperand(i, ref ctx);
                    if (ok0 && oki)
                    {
                        _fpu.C1 = false;
                    }
                    else if (ctx.SuppressWrite)
                    {
                        return true;
                    }

                    Float80 a = ok0 ? _fpu.St(0) : Float80.Indefinite;
                    Float80 b = oki ? _fpu.St(i) : Float80.Indefinite;
                    _fpu.SetSt(0, b);
                    _fpu.SetSt(i, a);
                    _fpu.Merge(ctx);
                    if (ok0 && oki)
                    {
                        _fpu.C1 = false;
                    }

                    return false;
                }

            case 2:
                if (modrm == 0xD0)
                {
                    return false; // FNOP
                }

                RaiseFault(VectorInvalidOpcode);
                return false;
            case 3:
                RaiseFault(VectorInvalidOpcode);
                return false;
            case 5:
                if (modrm == 0xEF)
                {
                    RaiseFault(VectorInvalidOpcode);
                    return false;
                }

                {
                    X87Constant c = modrm switch
                    {
                        0xE8 => X87Constant.One,
                        0xE9 => X87Constant.Log2Ten,
                        0xEA => X87Constant.Log2E,
                        0xEB => X87Constant.Pi,
                        0xEC => X87Constant.Log10Two,
                        0xED => X87Constant.Ln2,
                        _ => X87Constant.Zero,
                    };
                    _fpu.Push(X87Math.LoadConstant(c, ctx.Rounding), ref ctx);
                    return true;
                }

            default:
                return ExecuteX87D9Operation(modrm, ref ctx);
        }
    }

    private bool ExecuteX87D9Operation(int modrm, ref X87Context ctx)
    {
        switch (modrm)
        {
            case 0xE0:
            case 0xE1:
            case 0xFA:
            case 0xFC:
            case 0xF0:
                {
                    if (!_fpu.CheckOperand(0, ref ctx))
                    {
                        if (!ctx.SuppressWrite)
                        {
                            _fpu.SetSt(0, Float80.Indefinite);
                        }

                        return true;
                    }

                    Float80 x = _fpu.St(0);
                    Float80 r = modrm switch
                    {
                        0xE0 => X87Math.ChangeSign(x),
                        0xE1 => X87Math.Absolute(x),
                        0xFA => X87Math.SquareRoot(x, ref ctx),
                        0xFC => X87Math.RoundToIntegral(x, ref ctx),
                        _ => X87Math.TwoToXMinusOne(x, ref ctx),
                    };
                    if (!ctx.SuppressWrite)
                    {
                        _fpu.SetSt(0, r);
                    }

                    if (modrm is 0xE0 or 0xE1)
                    {
                        _fpu.C1 = false;
                        return false;
                    }

                    return true;
                }

            case 0xE4:
                {
                    X87CompareResult res = _fpu.CheckOperand(0, ref ctx)
                        ? X87Math.Compare(_fpu.St(0), Float80.PositiveZero, quiet: false, ref ctx)
                        : X87CompareResult.Unordered;
                    _fpu.Merge(ctx);
                    _fpu.SetConditionCodes(X87Math.ConditionCodes(res));
                    return false;
                }

            case 0xE5:
                _fpu.SetConditionCodes(X87Math.Examine(_fpu.St(0), _fpu.IsEmpty(0)));
                return false;
            case 0xF6:
                _fpu.Top--;
                _fpu.C1 = false;
                return false;
            case 0xF7:
                _fpu.Top++;
                _fpu.C1 = false;
                return false;
            case 0xFE:
            case 0xFF:
            case 0xF2:
                {
                    if (!_fpu.CheckOperand(0, ref ctx))
                    {
                        if (!ctx.SuppressWrite)
                        {
                            _fpu.SetSt(0, Float80.Indefinite);
                            if (modrm == 0xF2)
                            {
                                _fpu.Push(Float80.Indefinite, ref ctx);
                            }
                        }

                        return true;
                    }

                    if (modrm == 0xF2 && !_fpu.IsEmpty(7))
                    {
                        // Intel SDM Vol. 2A, FPTAN: stack overflow when ST(7) is in use.
                        _fpu.StackFault(ref ctx, overflow: true);
                        if (!ctx.SuppressWrite)
                        {
                            _fpu.SetSt(0, Float80.Indefinite);
                            _fpu.Push(Float80.Indefinite, ref ctx);
                        }

                        return true;
                    }

                    Float80 x = _fpu.St(0);
                    bool outOfRange;
                    Float80 r = modrm switch
                    {
                        0xFE => X87Math.Sine(x, ref ctx, out outOfRange),
                        0xFF => X87Math.Cosine(x, ref ctx, out outOfRange),
                        _ => X87Math.Tangent(x, ref ctx, out outOfRange),
                    };
                    if (outOfRange)
                    {
                        _fpu.Merge(ctx);
                        _fpu.C2 = true;
                        return false;
                    }

                    if (!ctx.SuppressWrite)
                    {
                        _fpu.SetSt(0, r);
                        if (modrm == 0xF2)
                        {
                            _fpu.Push(Float80.One, ref ctx);
                        }
                    }

                    _fpu.Merge(ctx);
                    _fpu.C2 = false;
                    return false;
                }

            case 0xFB:
            case 0xF4:
                {
                    if (!_fpu.CheckOperand(0, ref ctx) || !_fpu.IsEmpty(7))
                    {
                        if (!_fpu.IsEmpty(7) && !_fpu.IsEmpty(0))
                        {
                            _fpu.StackFault(ref ctx, overflow: true);
                        }

                        if (!ctx.SuppressWrite)
                        {
                            _fpu.SetSt(0, Float80.Indefinite);
                            _fpu.Top--;
                            _fpu.SetSt(0, Float80.Indefinite);
                        }

                        return true;
                    }

                    Float80 x = _fpu.St(0);
                    if (modrm == 0xFB)
                    {
                        (Float80 s, Float80 c) = X87Math.SineCosine(x, ref ctx, out bool outOfRange);
                        if (outOfRange)
                        {
                            _fpu.Merge(ctx);
                            _fpu.C2 = true;
                            return false;
                        }

                        if (!ctx.SuppressWrite)
                        {
                            _fpu.SetSt(0, s);
                            _fpu.Top--;
                            _fpu.SetSt(0, c);
                        }

                        _fpu.Merge(ctx);
                        _fpu.C2 = false;
                        return false;
                    }

                    (Float80 e, Float80 sig) = X87Math.Extract(x, ref ctx);
                    if (!ctx.SuppressWrite)
                    {
                        _fpu.SetSt(0, e);
                        _fpu.Top--;
                        _fpu.SetSt(0, sig);
                    }

                    return true;
                }

            case 0xF8:
            case 0xF5:
                {
                    bool ok = _fpu.CheckOperand(0, ref ctx) & _fpu.CheckOperand(1, ref ctx);
                    if (!ok)
                    {
                        if (!ctx.SuppressWrite)
                        {
                            _fpu.SetSt(0, Float80.Indefinite);
                        }

                        return true;
                    }

                    Float80 r = X87Math.Remainder(_fpu.St(0), _fpu.St(1), modrm == 0xF5, ref ctx, out int q, out bool incomplete);
                    if (!ctx.SuppressWrite)
                    {
                        _fpu.SetSt(0, r);
                    }

                    _fpu.Merge(ctx);
                    if (ctx.SuppressWrite)
                    {
                        return false;
                    }

                    if (incomplete)
                    {
                        // A partial remainder sets C2 and clears C0, C3 and C1 on Intel and AMD processors (the
                        // SDM leaves them undefined; the AMD manuals specify the clearing).
                        _fpu.SetConditionCodes(X87StatusBits.C2);
                    }
                    else
                    {
                        // C0 = Q2, C3 = Q1, C1 = Q0 (Intel SDM Vol. 2A, FPREM).
                        ushort codes = (ushort)(((q & 4) != 0 ? X87StatusBits.C0 : 0) | ((q & 2) != 0 ? X87StatusBits.C3 : 0) | ((q & 1) != 0 ? X87StatusBits.C1 : 0));
                        _fpu.SetConditionCodes(codes);
                    }

                    return false;
                }

            case 0xFD:
            case 0xF1:
            case 0xF3:
            case 0xF9:
                {
                    bool ok = _fpu.CheckOperand(0, ref ctx) & _fpu.CheckOperand(1, ref ctx);
                    int dest = modrm == 0xFD ? 0 : 1;
                    if (!ok)
                    {
                        if (!ctx.SuppressWrite)
                        {
                            _fpu.SetSt(dest, Float80.Indefinite);
                            if (dest == 1)
                            {
                                _fpu.Pop();
                            }
                        }

                        return true;
                    }

                    Float80 st0 = _fpu.St(0);
                    Float80 st1 = _fpu.St(1);
                    Float80 r = modrm switch
                    {
                        0xFD => X87Math.Scale(st0, st1, ref ctx),
                        0xF1 => X87Math.YLog2X(st1, st0, ref ctx),
                        0xF3 => X87Math.ArcTangent(st1, st0, ref ctx),
                        _ => X87Math.YLog2XPlusOne(st1, st0, ref ctx),
                    };
                    if (!ctx.SuppressWrite)
                    {
                        _fpu.SetSt(dest, r);
                        if (dest == 1)
                        {
                            _fpu.Pop();
                        }
                    }

                    return true;
                }

            default:
                RaiseFault(VectorInvalidOpcode);
                return false;
        }
    }

    /// <summary>ST(dst) = ST(a) op ST(b) (op: 0 add, 1 mul, 4 sub, 5 subr, 6 div, 7 divr), optionally popping.</summary>
    private void X87Arithmetic(int op, int dst, int a, int b, bool pop, ref X87Context ctx)
    {
        bool ok = _fpu.CheckOperand(a, ref ctx) & _fpu.CheckOperand(b, ref ctx);
        Float80 r = ok ? X87Compute(op, _fpu.St(a), _fpu.St(b), ref ctx) : Float80.Indefinite;
        if (!ctx.SuppressWrite)
        {
            _fpu.SetSt(dst, r);
            if (pop)
            {
                _fpu.Pop();
            }
        }
    }

    private static Float80 X87Compute(int op, in Float80 a, in Float80 b, ref X87Context ctx) => op switch
    {
        0 => X87Math.Add(a, b, ref ctx),
        1 => X87Math.Multiply(a, b, ref ctx),
        4 => X87Math.Subtract(a, b, ref ctx),
        5 => X87Math.Subtract(b, a, ref ctx),
        6 => X87Math.Divide(a, b, ref ctx),
        _ => X87Math.Divide(b, a, ref ctx),
    };

    private void X87Compare(int i, bool quiet, int pops, ref X87Context ctx)
    {
        bool ok = _fpu.CheckOperand(0, ref ctx) & _fpu.CheckOperand(i, ref ctx);
        X87CompareResult res = ok ? X87Math.Compare(_fpu.St(0), _fpu.St(i), quiet, ref ctx) : X87CompareResult.Unordered;
        X87SetCompareResult(res, pops, ref ctx);
    }

    private void X87SetCompareResult(X87CompareResult res, int pops, ref X87Context ctx)
    {
        bool write = !ctx.SuppressWrite;
        if (write)
        {
            _fpu.SetConditionCodes(X87Math.ConditionCodes(res));
            for (int p = 0; p < pops; p++)
            {
                _fpu.Pop();
            }
        }
    }

    private void X87CompareEflags(int i, bool quiet, bool pop, ref X87Context ctx)
    {
        bool ok = _fpu.CheckOperand(0, ref ctx) & _fpu.CheckOperand(i, ref ctx);
        X87CompareResult res = ok ? X87Math.Compare(_fpu.St(0), _fpu.St(i), quiet, ref ctx) : X87CompareResult.Unordered;
        if (!ctx.SuppressWrite)
        {
            // Intel SDM Vol. 2A, FCOMI: ZF, PF, CF from the comparison; OF, SF, AF cleared.
            SetStatusFlags(X87Math.ComparisonEflags(res));
            if (pop)
            {
                _fpu.Pop();
            }
        }
    }

    private void X87Cmov(int i, int cc, ref X87Context ctx)
    {
        bool ok = _fpu.CheckOperand(i, ref ctx) & _fpu.CheckOperand(0, ref ctx);
        if (!ok)
        {
            if (!ctx.SuppressWrite)
            {
                _fpu.SetSt(0, Float80.Indefinite);
            }

            return;
        }

        if (Condition(cc))
        {
            _fpu.SetSt(0, _fpu.St(i));
        }
    }

    /// <summary>RESET/INIT: the FPU comes up as after FNINIT, FERR# deasserted.</summary>
    private void X87Reset()
    {
        _fpu.Initialize();
        _ferr = false;
    }

    private byte[] X87SaveImage()
    {
        byte[] image = new byte[X87State.FxsaveSizeInBytes];
        _fpu.WriteFxsave(image);
        image[^1] = _ferr ? (byte)1 : (byte)0;
        return image;
    }

    private void X87RestoreImage(IReadOnlyList<byte>? image)
    {
        if (image is null)
        {
            X87Reset();
            return;
        }

        byte[] copy = [.. image];
        _fpu.ReadFxsave(copy);
        _ferr = copy[^1] != 0;
    }
}
