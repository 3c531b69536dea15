using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Control flow: near and far JMP, CALL and RET, IRET, LOOP/JCXZ (Intel SDM Vol. 2). Protected-mode far transfers are in
/// System/Cpu.FarTransfers.cs, interrupt and exception delivery in System/Cpu.InterruptDelivery.cs.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>
    /// Transfers to <paramref name="target"/> within CS, masked to the operand size; beyond the CS limit it is #GP (Intel SDM
    /// Vol. 2A, JMP). With a 64-bit operand size (64-bit mode) there is no limit, and a non-canonical target is #GP(0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void JumpNear(ulong target, int opSize)
    {
        if (!TryNearTarget(ref target, opSize))
        {
            return;
        }

        _ctx.Rip = target;
    }

    /// <summary>Masks a near-branch target to the operand size and checks it (CS limit, or canonical in 64-bit mode); #GP(0) when it fails.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryNearTarget(ref ulong target, int opSize)
    {
        if (opSize == 8)
        {
            if (!IsCanonical(target))
            {
                RaiseFault(VectorGeneralProtection, 0);
                return false;
            }

            return true;
        }

        target = opSize == 2 ? target & 0xFFFF : (uint)target;
        if (target > _ctx.SegLimit[Cs] && !_ctx.Code64)
        {
            RaiseFault(VectorGeneralProtection);
            return false;
        }

        return true;
    }

    private void JumpFar(ushort selector, ulong offset, int opSize = 4)
    {
        if (IsProtectedNonV86)
        {
            JumpFarProtected(selector, offset, opSize);
            return;
        }

        // Real mode: the new CS keeps its limit; an offset beyond it is #GP.
        if (offset > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        LoadSegmentReal(Cs, selector);
        _ctx.Rip = offset;
        _exitBlock = true;
    }

    private void ExecuteLoop(ref DecodedInstruction d)
    {
        int addrSize = d.AddrSize;
        ulong count = (ReadRegister(RegCx, addrSize) - 1) & SizeMask(addrSize);
        WriteRegister(RegCx, addrSize, count);
        bool taken = count != 0;
        if (taken && d.Op != Op.Loop)
        {
            bool zf = Condition(4);
            taken = d.Op == Op.Loope ? zf : !zf;
        }

        if (taken)
        {
            JumpNear(_ctx.Rip + d.Imm, d.OpSize);
        }
    }

    private void ExecuteJmpIndirect(ref DecodedInstruction d)
    {
        ulong target = ReadOperand0(ref d, d.OpSize);
        if (!_faulted)
        {
            JumpNear(target, d.OpSize);
        }
    }

    private void ExecuteJmpFarIndirect(ref DecodedInstruction d, bool call)
    {
        // m16:16, m16:32, or m16:64 with REX.W in 64-bit mode (Intel SDM Vol. 2A, JMP and CALL, FF /5 and FF /3: the
        // offset is 64 bits there, and the pointer's selector follows it).
        int size = d.OpSize;
        ulong ea = EffectiveAddress(ref d);
        ulong offset = ReadMem(d.Seg, ea, size);
        ulong selectorOffset = ea + (uint)size;
        if (d.AddrSize == 2)
        {
            selectorOffset &= 0xFFFF;
        }

        ushort selector = (ushort)ReadMem(d.Seg, selectorOffset, 2);
        if (_faulted)
        {
            return;
        }

        if (call)
        {
            ExecuteCallFar(ref d, selector, offset);
        }
        else
        {
            JumpFar(selector, offset, size);
        }
    }

    private void ExecuteCallRel(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong target = _ctx.Rip + d.Imm;
        if (!TryNearTarget(ref target, size))
        {
            return;
        }

        Push(_ctx.Rip, size);
        if (!_faulted)
        {
            _ctx.Rip = target;
        }
    }

    private void ExecuteCallIndirect(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong target = ReadOperand0(ref d, size);
        if (_faulted || !TryNearTarget(ref target, size))
        {
            return;
        }

        Push(_ctx.Rip, size);
        if (!_faulted)
        {
            _ctx.Rip = target;
        }
    }

    private void ExecuteCallFar(ref DecodedInstruction d, ushort selector, ulong offset)
    {
        int size = d.OpSize;
        if (IsProtectedNonV86)
        {
            CallFarProtected(selector, offset, size);
            return;
        }

        if (size == 2)
        {
            offset &= 0xFFFF;
        }

        uint sp2 = PushReturnAddress(StackPointer, StackMask, size);
        if (_faulted)
        {
            return;
        }

        if (offset > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        SetStackPointer(sp2);
        LoadSegmentReal(Cs, selector);
        _ctx.Rip = offset;
        _exitBlock = true;
    }

    private void ExecuteRetNear(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        if (_ctx.Code64)
        {
            RetNear64(ref d, size);
            return;
        }

        uint sp = StackPointer;
        uint target = (uint)ReadMem(Ss, sp, size);
        if (_faulted)
        {
            return;
        }

        if (target > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        SetStackPointer((sp + (uint)size + (d.Kind0 == OperandKind.Immediate ? (uint)d.Imm : 0)) & StackMask);
        _ctx.Rip = target;
    }

    /// <summary>RET in 64-bit mode: the stack is RSP whatever SS.B says, the target 64-bit (16-bit with 66h) and canonical.</summary>
    private void RetNear64(ref DecodedInstruction d, int size)
    {
        ulong rsp = _ctx.Gpr[RegSp];
        if (!TryReadFast64(Ss, rsp, size, out ulong target) || !TryNearTarget(ref target, size))
        {
            return;
        }

        _ctx.Gpr[RegSp] = rsp + (uint)size + (d.Kind0 == OperandKind.Immediate ? d.Imm : 0);
        _ctx.Rip = target;
    }

    private void ExecuteRetFar(ref DecodedInstruction d)
    {
        if (IsProtectedNonV86)
        {
            RetFarProtected(ref d);
            return;
        }

        int size = d.OpSize;
        uint sp = StackPointer;
        uint mask = StackMask;
        uint offset = (uint)ReadMem(Ss, sp, size);
        ushort selector = (ushort)ReadMem(Ss, (sp + (uint)size) & mask, size == 4 ? 4 : 2);
        if (_faulted)
        {
            return;
        }

        if (offset > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        SetStackPointer((sp + (uint)(2 * size) + (d.Kind0 == OperandKind.Immediate ? (uint)d.Imm : 0)) & mask);
        LoadSegmentReal(Cs, selector);
        _ctx.Rip = offset;
        _exitBlock = true;
    }

    private void ExecuteIret(ref DecodedInstruction d)
    {
        if (InVirtual8086)
        {
            IretFromVirtual8086(ref d);
            return;
        }

        if (IsLongModeActive)
        {
            IretLongMode(ref d);
            return;
        }

        if (IsProtectedNonV86)
        {
            IretProtected(ref d);
            return;
        }

        int size = d.OpSize;
        uint sp = StackPointer;
        uint mask = StackMask;
        uint offset = (uint)ReadMem(Ss, sp, size);
        ushort selector = (ushort)ReadMem(Ss, (sp + (uint)size) & mask, size == 4 ? 4 : 2);
        uint flags = (uint)ReadMem(Ss, (sp + (uint)(2 * size)) & mask, size);
        if (_faulted)
        {
            return;
        }

        if (offset > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        SetStackPointer((sp + (uint)(3 * size)) & mask);
        LoadSegmentReal(Cs, selector);
        _ctx.Rip = offset;
        uint current = GetFlags();

        // Real-mode IRET (Intel SDM Vol. 2A, IRET): VM, VIF, VIP and RF are not loaded from the stack image.
        uint writable = size == 4 ? EflagsBits.Popf32Writable : EflagsBits.Defined16;
        SetFlagsRaw((current & ~writable) | (flags & writable));
        _nmiBlocked = false;
        _exitBlock = true;
    }

}
