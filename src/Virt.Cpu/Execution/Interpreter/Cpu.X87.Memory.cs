using Virt.Cpu.Decoding;
using Virt.Cpu.X87;

namespace Virt.Cpu;

/// <summary>x87 instructions with a memory operand, and FXSAVE/FXRSTOR.</summary>
public sealed partial class Cpu
{
    private void ExecuteX87Memory(ref DecodedInstruction d, int group, int reg, uint ea)
    {
        int seg = d.Seg;
        X87Context ctx = _fpu.CreateContext();
        switch (group)
        {
            case 0:
            case 2:
            case 4:
            case 6:
                {
                    // D8 m32fp, DA m32int, DC m64fp, DE m16int: ST(0) op memory.
                    Float80 src;
                    switch (group)
                    {
                        case 0: src = X87Math.FromSingle((uint)ReadMem(seg, ea, 4), ref ctx); break;
                        case 2: src = X87Math.FromInt64((int)(uint)ReadMem(seg, ea, 4)); break;
                        case 4: src = X87Math.FromDouble(ReadMem(seg, ea, 8), ref ctx); break;
                        default: src = X87Math.FromInt64((short)(ushort)ReadMem(seg, ea, 2)); break;
                    }

                    if (_faulted)
                    {
                        return;
                    }

                    bool ok = _fpu.CheckOperand(0, ref ctx);
                    if (reg is 2 or 3)
                    {
                        X87CompareResult res = ok && !ctx.SuppressWrite ? X87Math.Compare(_fpu.St(0), src, quiet: false, ref ctx) : X87CompareResult.Unordered;
                        X87SetCompareResult(res, reg - 2, ref ctx);
                    }
                    else if (!ctx.SuppressWrite)
                    {
                        Float80 r = ok ? X87Compute(reg, _fpu.St(0), src, ref ctx) : Float80.Indefinite;
                        if (!ctx.SuppressWrite)
                        {
                            _fpu.SetSt(0, r);
                        }
                    }

                    break;
                }

            case 1:
                switch (reg)
                {
                    case 0:
                        {
                            Float80 v = X87Math.FromSingle((uint)ReadMem(seg, ea, 4), ref ctx);
                            if (_faulted)
                            {
                                return;
                            }

                            if (!ctx.SuppressWrite)
                            {
                                _fpu.Push(v, ref ctx);
                            }

                            break;
                        }

                    case 2:
                    case 3:
                        X87StoreFloat(seg, ea, 4, reg == 3, ref ctx);
                        break;
                    case 4:
                        X87LoadEnvironment(ref d, seg, ea, save: false);
                        return;
                    case 5:
                        {
                            ushort cw = (ushort)ReadMem(seg, ea, 2);
                            if (!_faulted)
                            {
                                X87LoadControlWord(cw);
                            }

                            return;
                        }

                    case 6:
                        X87StoreEnvironment(ref d, seg, ea, save: false);
                        return;
                    case 7:
                        WriteMem(seg, ea, 2, _fpu.ControlWord);
                        return;
                    default:
                        RaiseFault(VectorInvalidOpcode);
                        return;
                }

                break;
            case 3:
                switch (reg)
                {
                    case 0:
                        {
                            long v = (int)(uint)ReadMem(seg, ea, 4);
                            if (!_faulted)
                            {
                                _fpu.Push(X87Math.FromInt64(v), ref ctx);
                            }

                            break;
                        }

                    case 1:
                    case 2:
                    case 3:
                        X87StoreInteger(seg, ea, 4, reg != 2, reg == 1, ref ctx);
                        break;
                    case 5:
                        {
                            Span<byte> buf = stackalloc byte[Float80.SizeInBytes];
                            if (!X87ReadBytes(seg, ea, buf))
                            {
                                return;
                            }

                            _fpu.Push(Float80.ReadFrom(buf), ref ctx);
                            break;
                        }

                    case 7:
                        {
                            Span<byte> buf = stackalloc byte[Float80.SizeInBytes];
                            bool ok = _fpu.CheckOperand(0, ref ctx);
                            if (ctx.SuppressWrite)
                            {
                                break;
                            }

                            (ok ? _fpu.St(0) : Float80.Indefinite).WriteTo(buf);
                            if (X87WriteBytes(seg, ea, buf))
                            {
                                _fpu.Pop();
                            }

                            break;
                        }

                    default:
                        RaiseFault(VectorInvalidOpcode);
                        return;
                }

                break;
            case 5:
                switch (reg)
                {
                    case 0:
                        {
                            Float80 v = X87Math.FromDouble(ReadMem(seg, ea, 8), ref ctx);
                            if (_faulted)
                            {
                                return;
                            }

                            if (!ctx.SuppressWrite)
                            {
                                _fpu.Push(v, ref ctx);
                            }

                            break;
                        }

                    case 1:
                        X87StoreInteger(seg, ea, 8, pop: true, truncate: true, ref ctx);
                        break;
                    case 2:
                    case 3:
                        X87StoreFloat(seg, ea, 8, reg == 3, ref ctx);
                        break;
                    case 4:
                        X87LoadEnvironment(ref d, seg, ea, save: true);
                        return;
                    case 6:
                        X87StoreEnvironment(ref d, seg, ea, save: true);
                        return;
                    case 7:
                        WriteMem(seg, ea, 2, _fpu.StatusWord);
                        return;
                    default:
                        RaiseFault(VectorInvalidOpcode);
                        return;
                }

                break;
            default:
                switch (reg)
                {
                    case 0:
                    case 5:
                        {
                            long v = reg == 0 ? (short)(ushort)ReadMem(seg, ea, 2) : (long)ReadMem(seg, ea, 8);
                            if (!_faulted)
                            {
                                _fpu.Push(X87Math.FromInt64(v), ref ctx);
                            }

                            break;
                        }

                    case 1:
                    case 2:
                    case 3:
                        X87StoreInteger(seg, ea, 2, reg != 2, reg == 1, ref ctx);
                        break;
                    case 7:
                        X87StoreInteger(seg, ea, 8, pop: true, truncate: false, ref ctx);
                        break;
                    case 4:
                        {
                            Span<byte> buf = stackalloc byte[Float80.SizeInBytes];
                            if (!X87ReadBytes(seg, ea, buf))
                            {
                                return;
                            }

                            _fpu.Push(X87Math.FromPackedBcd(buf), ref ctx);
                            break;
                        }

                    default:
                        {
                            Span<byte> buf = stackalloc byte[Float80.SizeInBytes];
                            bool ok = _fpu.CheckOperand(0, ref ctx);
                            if (ctx.SuppressWrite)
                            {
                                break;
                            }

                            X87Math.ToPackedBcd(ok ? _fpu.St(0) : Float80.Indefinite, buf, ref ctx);
                            if (!ctx.SuppressWrite && X87WriteBytes(seg, ea, buf))
                            {
                                _fpu.Pop();
                            }

                            break;
                        }
                }

                break;
        }

        if (!_faulted)
        {
            X87Finish(ref ctx);
        }
    }

    private void X87StoreFloat(int seg, uint ea, int size, bool pop, ref X87Context ctx)
    {
        bool ok = _fpu.CheckOperand(0, ref ctx);
        if (ctx.SuppressWrite)
        {
            return;
        }

        Float80 x = ok ? _fpu.St(0) : Float80.Indefinite;
        ulong bits = size == 4 ? X87Math.ToSingle(x, ref ctx) : X87Math.ToDouble(x, ref ctx);
        if (ctx.SuppressWrite)
        {
            return;
        }

        WriteMem(seg, ea, size, bits);
        if (pop && !_faulted)
        {
            _fpu.Pop();
        }
    }

    private void X87StoreInteger(int seg, uint ea, int size, bool pop, bool truncate, ref X87Context ctx)
    {
        bool ok = _fpu.CheckOperand(0, ref ctx);
        if (ctx.SuppressWrite)
        {
            return;
        }

        // Masked stack underflow stores the integer indefinite (the most negative value), Intel SDM Vol. 1, 8.5.1.1.
        long v = ok ? X87Math.ToInteger(_fpu.St(0), size * 8, truncate, ref ctx) : long.MinValue >> (64 - (size * 8));
        if (ctx.SuppressWrite)
        {
            return;
        }

        WriteMem(seg, ea, size, (ulong)v);
        if (pop && !_faulted)
        {
            _fpu.Pop();
        }
    }

    private void X87LoadControlWord(ushort cw)
    {
        // Bits 6 and 13-15 are reserved; bit 6 reads as 1 (Intel SDM Vol. 1, Figure 8-6).
        _fpu.ControlWord = (ushort)((cw & 0x1F3F) | 0x40);
        X87UpdateFerr();
    }

    /// <summary>After FLDCW/FLDENV/FRSTOR: FERR# follows ES when the legacy route is in use.</summary>
    private void X87UpdateFerr()
    {
        if (!_fpu.ErrorPending)
        {
            SetFerr(false);
        }
    }

    private X87EnvironmentFormat X87Format(ref DecodedInstruction d)
    {
        // Intel SDM Vol. 1, 8.1.10: the layout follows the operand size and the operating mode (virtual-8086 uses the
        // protected-mode layout).
        bool protectedLayout = (_ctx.Cr0 & Cr0Bits.Pe) != 0;
        return d.OpSize == 4
            ? (protectedLayout ? X87EnvironmentFormat.Protected32 : X87EnvironmentFormat.Real32)
            : (protectedLayout ? X87EnvironmentFormat.Protected16 : X87EnvironmentFormat.Real16);
    }

    private void X87StoreEnvironment(ref DecodedInstruction d, int seg, uint ea, bool save)
    {
        X87EnvironmentFormat format = X87Format(ref d);
        int size = save ? X87State.SaveSizeInBytes(format) : X87State.EnvironmentSizeInBytes(format);
        Span<byte> buf = stackalloc byte[108];
        buf = buf[..size];
        if (save)
        {
            _fpu.Save(buf, format);
        }
        else
        {
            _fpu.WriteEnvironment(buf, format);
        }

        if (!X87WriteBytes(seg, ea, buf))
        {
            return;
        }

        if (save)
        {
            // Intel SDM Vol. 2A, FSAVE: the FPU is initialised afterwards.
            _fpu.Initialize();
            SetFerr(false);
        }
        else
        {
            // Intel SDM Vol. 2A, FSTENV: all exceptions are masked afterwards.
            _fpu.ControlWord |= (ushort)X87Exceptions.All;
            X87UpdateFerr();
        }
    }

    private void X87LoadEnvironment(ref DecodedInstruction d, int seg, uint ea, bool save)
    {
        X87EnvironmentFormat format = X87Format(ref d);
        int size = save ? X87State.SaveSizeInBytes(format) : X87State.EnvironmentSizeInBytes(format);
        Span<byte> buf = stackalloc byte[108];
        buf = buf[..size];
        if (!X87ReadBytes(seg, ea, buf))
        {
            return;
        }

        if (save)
        {
            _fpu.Restore(buf, format);
        }
        else
        {
            _fpu.ReadEnvironment(buf, format);
        }

        X87UpdateFerr();
    }

    private bool X87ReadBytes(int seg, uint ea, Span<byte> buf)
    {
        if (!CheckLimit(seg, ea, buf.Length))
        {
            return false;
        }

        int i = 0;
        for (; i + 8 <= buf.Length; i += 8)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(buf[i..], ReadMem(seg, ea + (uint)i, 8));
        }

        for (; i < buf.Length; i++)
        {
            buf[i] = (byte)ReadMem(seg, ea + (uint)i, 1);
        }

        return !_faulted;
    }

    private bool X87WriteBytes(int seg, uint ea, ReadOnlySpan<byte> buf)
    {
        if (!CheckWriteLimit(seg, ea, buf.Length))
        {
            return false;
        }

        int i = 0;
        for (; i + 8 <= buf.Length; i += 8)
        {
            WriteMem(seg, ea + (uint)i, 8, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(buf[i..]));
        }

        for (; i < buf.Length; i++)
        {
            WriteMem(seg, ea + (uint)i, 1, buf[i]);
        }

        return !_faulted;
    }
}
