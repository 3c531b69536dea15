using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// System instructions: STI, RDTSC, WAIT, LGDT/LIDT/SGDT/SIDT, LMSW, MOV to and from control registers, CLTS, INVLPG,
/// HLT and the other control instructions, ARPL, and the descriptor queries LAR/LSL/VERR/VERW.
/// </summary>
public sealed partial class Cpu
{
    private void ExecuteSti()
    {
        if (VirtualInterruptFlagActive())
        {
            ExecuteStiVirtual();
            return;
        }

        if (!CheckIopl())
        {
            return;
        }

        uint flags = GetFlags();
        if ((flags & EflagsBits.If) == 0)
        {
            // Intel SDM Vol. 2B, STI: interrupts are recognised only after the next instruction.
            _ctx.Eflags |= EflagsBits.If;
            _inhibitInterrupts = true;
            _exitBlock = true;
        }
    }

    private void ExecuteRdtsc()
    {
        if ((_ctx.Cr4 & Cr4Bits.Tsd) != 0 && !RequireCpl0())
        {
            return;
        }

        ulong tsc = ReadTimestampCounter();
        if (TscReadHook is { } hook)
        {
            tsc = hook(tsc);
        }

        WriteRegister(RegAx, 4, (uint)tsc);
        WriteRegister(RegDx, 4, tsc >> 32);
    }

    private void ExecuteWait()
    {
        // Intel SDM Vol. 2B, WAIT: #NM when CR0.MP and CR0.TS are both set.
        if ((_ctx.Cr0 & (Cr0Bits.Mp | Cr0Bits.Ts)) == (Cr0Bits.Mp | Cr0Bits.Ts))
        {
            RaiseFault(VectorDeviceNotAvailable);
            return;
        }

        X87CheckPendingError();
    }

    private void ExecuteLoadDescriptorTable(ref DecodedInstruction d, bool idt)
    {
        ulong ea = EffectiveAddress(ref d);
        ushort limit = (ushort)ReadMem(d.Seg, ea, 2);

        // In 64-bit mode the base is 8 bytes (a 10-byte operand), and must be canonical (Intel SDM Vol. 2A, LGDT/LIDT).
        ulong baseAddress = d.OpSize == 8 ? ReadMem(d.Seg, ea + 2, 8) : (uint)ReadMem(d.Seg, d.AddrSize == 2 ? (ea + 2) & 0xFFFF : ea + 2, 4);
        if (_faulted)
        {
            return;
        }

        if (!IsCanonical(baseAddress))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        // Intel SDM Vol. 2A, LGDT/LIDT: with a 16-bit operand only 24 bits of the base are loaded.
        if (d.OpSize == 2)
        {
            baseAddress &= 0x00FFFFFF;
        }

        if (idt)
        {
            _ctx.IdtBase = baseAddress;
            _ctx.IdtLimit = limit;
        }
        else
        {
            _ctx.GdtBase = baseAddress;
            _ctx.GdtLimit = limit;
        }
    }

    private void ExecuteStoreDescriptorTable(ref DecodedInstruction d, bool idt)
    {
        ulong ea = EffectiveAddress(ref d);
        WriteMem(d.Seg, ea, 2, idt ? _ctx.IdtLimit : _ctx.GdtLimit);
        if (!_faulted)
        {
            // Since the 386 the full 32-bit base is stored whatever the operand size (Intel SDM Vol. 2B, SGDT).
            WriteMem(d.Seg, d.AddrSize == 2 ? (ea + 2) & 0xFFFF : ea + 2, d.OpSize == 8 ? 8 : 4, idt ? _ctx.IdtBase : _ctx.GdtBase);
        }
    }

    private void ExecuteLmsw(ref DecodedInstruction d)
    {
        ulong value = ReadOperand0(ref d, 2);
        if (_faulted)
        {
            return;
        }

        // LMSW loads PE, MP, EM and TS; it can set PE but not clear it (Intel SDM Vol. 2A, LMSW).
        _ctx.Cr0 = (_ctx.Cr0 & ~(Cr0Bits.Mp | Cr0Bits.Em | Cr0Bits.Ts)) | (value & Cr0Bits.LmswBits);
        RefreshAllAccessBounds();
        _exitBlock = true;
    }

    private void ExecuteMovToCr(ref DecodedInstruction d)
    {
        ulong value = ReadRegister(d.Reg1, d.Size1);
        switch (d.Reg0)
        {
            case 0:
                if ((value & (Cr0Bits.Pg | Cr0Bits.Pe)) == Cr0Bits.Pg || (value & (Cr0Bits.Cd | Cr0Bits.Nw)) == Cr0Bits.Nw
                    || (value >> 32) != 0 || !Cr0PagingWriteAllowed(value))
                {
                    // PG without PE, or NW without CD, is #GP(0); so is a set bit in 63:32 (Intel SDM Vol. 2B, MOV to CR0).
                    RaiseFault(VectorGeneralProtection, 0);
                    return;
                }

                if (!CheckLongModeTransition(value))
                {
                    return;
                }

                if ((value & Cr0Bits.Pg) != 0 && (_ctx.Cr0 & Cr0Bits.Pg) == 0 && (_ctx.Efer & EferBits.Lme) == 0 && _mmu.IsPaeMode
                    && !_mmu.LoadPdptes(_ctx.Cr3))
                {
                    // Enabling PAE paging loads the PDPTEs; a reserved bit in a present one is #GP(0) (Intel SDM Vol. 3A, 4.4.1).
                    RaiseFault(VectorGeneralProtection, 0);
                    return;
                }

                // CR0.ET is hardwired to 1 on the P6 family.
                _ctx.Cr0 = value | Cr0Bits.Et;
                if ((value & 1) == 0)
                {
                    // Back to real mode: CPL is 0; the descriptor caches keep their contents (unreal mode).
                    _ctx.Cpl = 0;
                }

                UpdateLongModeActive();
                RefreshAllAccessBounds();

                _mmu.Flush();
                break;
            case 2:
                _ctx.Cr2 = value;
                break;
            case 3:
                if (!TryLoadCr3(value))
                {
                    RaiseFault(VectorGeneralProtection, 0);
                    return;
                }

                break;
            case 4:
                if ((value & ~Cr4Writable) != 0 || !Cr4PagingWriteAllowed(value))
                {
                    // Setting a CR4 bit for a feature the CPU does not have is #GP(0) (Intel SDM Vol. 2B, MOV to CR4).
                    RaiseFault(VectorGeneralProtection, 0);
                    return;
                }

                // Changing PAE, PGE or PSE with paging on reloads the PDPTEs when PAE ends up set (Intel SDM Vol. 3A, 4.4.1).
                // 4-level paging has no PDPTE registers (EFER.LMA).
                if (_mmu.PagingEnabled && (value & Cr4Bits.Pae) != 0 && !IsLongModeActive
                    && ((value ^ _ctx.Cr4) & (Cr4Bits.Pae | Cr4Bits.Pge | Cr4Bits.Pse)) != 0
                    && !_mmu.LoadPdptes(_ctx.Cr3))
                {
                    RaiseFault(VectorGeneralProtection, 0);
                    return;
                }

                _ctx.Cr4 = value;
                RecomputeBreakpoints();
                break;
            case 8 when _ctx.Code64:
                // CR8, the task-priority register of 64-bit mode (Intel SDM Vol. 3A, 2.5): bits 3:0 kept, the rest reserved.
                if ((value & ~Cr8Writable) != 0)
                {
                    RaiseFault(VectorGeneralProtection, 0);
                    return;
                }

                _cr8 = value;
                break;
            default:
                RaiseFault(VectorInvalidOpcode);
                return;
        }

        _exitBlock = true;
    }

    private void ExecuteMovFromCr(ref DecodedInstruction d)
    {
        ulong value;
        switch (d.Reg1)
        {
            case 0:
                value = _ctx.Cr0;
                break;
            case 2:
                value = _ctx.Cr2;
                break;
            case 3:
                value = _ctx.Cr3;
                break;
            case 4:
                value = _ctx.Cr4;
                break;
            case 8 when _ctx.Code64:
                value = _cr8;
                break;
            default:
                RaiseFault(VectorInvalidOpcode);
                return;
        }

        WriteRegister(d.Reg0, d.OpSize, value);
    }

    /// <summary>LMSW, MOV to and from control and debug registers, CLTS, INVLPG, INVD and WBINVD: CPL 0 only.</summary>
    private void ExecuteControlInstruction(ref DecodedInstruction d)
    {
        if (!RequireCpl0())
        {
            return;
        }

        switch (d.Op)
        {
            case Op.Lmsw:
                ExecuteLmsw(ref d);
                break;
            case Op.MovToCr:
                if (d.Reg0 >= DebugRegisterBase)
                {
                    if (CheckDebugRegisterAccess(d.Reg0 - DebugRegisterBase))
                    {
                        WriteDebugRegister(d.Reg0 - DebugRegisterBase, (uint)ReadRegister(d.Reg1, d.Size1));
                        _exitBlock = true;
                    }
                }
                else
                {
                    ExecuteMovToCr(ref d);
                }

                break;
            case Op.MovFromCr:
                if (d.Reg1 >= DebugRegisterBase)
                {
                    if (CheckDebugRegisterAccess(d.Reg1 - DebugRegisterBase))
                    {
                        WriteRegister(d.Reg0, d.OpSize, ReadDebugRegister(d.Reg1 - DebugRegisterBase));
                    }
                }
                else
                {
                    ExecuteMovFromCr(ref d);
                }

                break;
            case Op.Clts:
                _ctx.Cr0 &= ~Cr0Bits.Ts;
                break;
            case Op.Invlpg:
                _mmu.InvalidateLinearPage(new LinearAddress(_ctx.Code64 ? (d.Seg >= Fs ? _ctx.SegBase[d.Seg] : 0) + EffectiveAddress(ref d)
                    : (uint)(_ctx.SegBase[d.Seg] + EffectiveAddress(ref d))));
                break;
            default:
                // INVD and WBINVD: there are no caches to model; only the CPL-0 check remains.
                break;
        }
    }

    /// <summary>ARPL: raise the destination selector's RPL to the source's, ZF = 1 when it changed (Intel SDM Vol. 2A, ARPL).</summary>
    private void ExecuteArpl(ref DecodedInstruction d)
    {
        if (!IsProtectedNonV86)
        {
            RaiseFault(VectorInvalidOpcode);
            return;
        }

        ulong destination = ReadDestination(ref d, 2, out ulong ea);
        uint source = (uint)ReadRegister(d.Reg1, 2);
        if (_faulted)
        {
            return;
        }

        if ((destination & 3) < (source & 3))
        {
            WriteDestination(ref d, 2, ea, (destination & ~3UL) | (source & 3));
            if (!_faulted)
            {
                SetFlag(EflagsBits.Zf, true);
            }
        }
        else
        {
            SetFlag(EflagsBits.Zf, false);
        }
    }

    /// <summary>
    /// LAR, LSL, VERR and VERW: look a selector up without loading it; ZF reports whether it is valid and visible at the
    /// current CPL and the selector's RPL (Intel SDM Vol. 2A, LAR, LSL; Vol. 2B, VERR/VERW). Never faults on the selector.
    /// </summary>
    private void ExecuteDescriptorQuery(ref DecodedInstruction d)
    {
        if (!IsProtectedNonV86)
        {
            RaiseFault(VectorInvalidOpcode);
            return;
        }

        bool verify = d.Op is Op.Verr or Op.Verw;
        ushort selector = (ushort)(verify ? ReadOperand0(ref d, 2) : ReadOperand1(ref d, 2));
        if (_faulted)
        {
            return;
        }

        if ((selector & 0xFFFC) == 0 || !TryReadDescriptor(selector, out ulong descriptor, out _))
        {
            SetFlag(EflagsBits.Zf, false);
            return;
        }

        ushort attributes = DescriptorAttributes(descriptor);
        int dpl = DescriptorDpl(descriptor);
        bool segment = (attributes & AttrSegment) != 0;
        bool code = segment && (attributes & AttrCode) != 0;
        bool conformingCode = code && (attributes & AttrConforming) != 0;
        int type = attributes & 0xF;
        bool valid = d.Op switch
        {
            Op.Lar => segment || type is 1 or 2 or 3 or 4 or 5 or 9 or 11 or 12,
            Op.Lsl => segment || type is 1 or 2 or 3 or 9 or 11,
            Op.Verr => segment && (!code || (attributes & AttrWritable) != 0),
            _ => segment && !code && (attributes & AttrWritable) != 0,
        };
        if (valid && !conformingCode && (dpl < _ctx.Cpl || dpl < (selector & 3)))
        {
            valid = false;
        }

        SetFlag(EflagsBits.Zf, valid);
        if (!valid || verify)
        {
            return;
        }

        if (d.Op == Op.Lar)
        {
            WriteRegister(d.Reg0, d.OpSize, (uint)(descriptor >> 32) & 0x00FF_FF00);
        }
        else
        {
            WriteRegister(d.Reg0, d.OpSize, SegmentState.FromDescriptor(selector, descriptor).Limit);
        }
    }
}
