using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>Flag control, CPUID, RDTSC, port I/O, descriptor-table and control-register instructions.</summary>
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

    private void ExecuteIn(ref DecodedInstruction d)
    {
        ushort port = d.Kind1 == OperandKind.Immediate ? (ushort)d.Imm : (ushort)_ctx.Gpr[RegDx];
        if (!CheckIoPermission(port, d.OpSize))
        {
            return;
        }

        _portAccessClock?.BeforePortAccess();
        WriteRegister(RegAx, d.OpSize, _ports.Read(port, d.OpSize));
        _exitBlock = true;
    }

    private void ExecuteOut(ref DecodedInstruction d)
    {
        ushort port = d.Kind0 == OperandKind.Immediate ? (ushort)d.Imm : (ushort)_ctx.Gpr[RegDx];
        if (!CheckIoPermission(port, d.OpSize))
        {
            return;
        }

        _portAccessClock?.BeforePortAccess();
        _ports.Write(port, d.OpSize, (uint)ReadRegister(RegAx, d.OpSize));
        _exitBlock = true;
    }

    private void ExecuteLoadDescriptorTable(ref DecodedInstruction d, bool idt)
    {
        uint ea = EffectiveAddress(ref d);
        ushort limit = (ushort)ReadMem(d.Seg, ea, 2);
        uint baseAddress = (uint)ReadMem(d.Seg, d.AddrSize == 2 ? (ea + 2) & 0xFFFF : ea + 2, 4);
        if (_faulted)
        {
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
        uint ea = EffectiveAddress(ref d);
        WriteMem(d.Seg, ea, 2, idt ? _ctx.IdtLimit : _ctx.GdtLimit);
        if (!_faulted)
        {
            // Since the 386 the full 32-bit base is stored whatever the operand size (Intel SDM Vol. 2B, SGDT).
            WriteMem(d.Seg, d.AddrSize == 2 ? (ea + 2) & 0xFFFF : ea + 2, 4, idt ? _ctx.IdtBase : _ctx.GdtBase);
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
        ulong value = ReadRegister(d.Reg1, 4);
        switch (d.Reg0)
        {
            case 0:
                if ((value & (Cr0Bits.Pg | Cr0Bits.Pe)) == Cr0Bits.Pg || (value & (Cr0Bits.Cd | Cr0Bits.Nw)) == Cr0Bits.Nw)
                {
                    // PG without PE, or NW without CD, is #GP(0) (Intel SDM Vol. 2B, MOV to CR0).
                    RaiseFault(VectorGeneralProtection, 0);
                    return;
                }

                if ((value & Cr0Bits.Pg) != 0 && (_ctx.Cr0 & Cr0Bits.Pg) == 0 && _mmu.IsPaeMode && !_mmu.LoadPdptes(_ctx.Cr3))
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

                RefreshAllAccessBounds();

                _mmu.Flush();
                break;
            case 2:
                _ctx.Cr2 = value;
                break;
            case 3:
                if (_mmu.PagingEnabled && _mmu.IsPaeMode && !_mmu.LoadPdptes(value))
                {
                    RaiseFault(VectorGeneralProtection, 0);
                    return;
                }

                _ctx.Cr3 = value;
                _mmu.Flush();
                break;
            case 4:
                if ((value & ~Cr4Writable) != 0)
                {
                    // Setting a CR4 bit for a feature the CPU does not have is #GP(0) (Intel SDM Vol. 2B, MOV to CR4).
                    RaiseFault(VectorGeneralProtection, 0);
                    return;
                }

                // Changing PAE, PGE or PSE with paging on reloads the PDPTEs when PAE ends up set (Intel SDM Vol. 3A, 4.4.1).
                if (_mmu.PagingEnabled && (value & Cr4Bits.Pae) != 0 && ((value ^ _ctx.Cr4) & (Cr4Bits.Pae | Cr4Bits.Pge | Cr4Bits.Pse)) != 0
                    && !_mmu.LoadPdptes(_ctx.Cr3))
                {
                    RaiseFault(VectorGeneralProtection, 0);
                    return;
                }

                _ctx.Cr4 = value;
                RecomputeBreakpoints();
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
            default:
                RaiseFault(VectorInvalidOpcode);
                return;
        }

        WriteRegister(d.Reg0, 4, value);
    }
}
