using System.Reflection.Emit;
using Virt.Cpu.Decoding;
using M = Virt.Cpu.Cpu.CompiledTierMembers;

namespace Virt.Cpu;

/// <summary>
/// Self-loops: a block with a Jcc or JMP rel that branches back to the block's own first instruction (its last, or a Jcc
/// in its middle, as blocks go on past a conditional branch) loops inside its method. The taken branch asks Cpu.ContinueCompiledLoop (Cpu.CompiledLoop.cs) whether the chaining loop would
/// enter this same block next; if so it goes back to the loop's top with the guest registers still in their locals, and
/// only otherwise writes everything back and leaves as any block ending in a taken branch does.
/// </summary>
/// <remarks>
/// <para>
/// The loop's top sits after the method's prologue. Both ways into it must agree with one compile-time view: the
/// registers the block names are loaded into their locals before the top (the first time round they equal the state's),
/// and the back edge makes its view equal to the top's: registers written in the iteration are stored to the state
/// (so the top's "clean" holds; they stay in their locals as well), registers the top holds but an interpreter call made
/// stale are loaded again, and the lazy-flag record held in locals is stored (the top's view has it in the state only).
/// EIP in the state is the block's start when the test runs (the test reads CS:EIP as FetchBlock would); the instruction
/// start is left as it is, which the top's view allows (it writes both before anything reads them).
/// </para>
/// <para>
/// The target is compared with the block's start at run time, exactly as Cpu.JumpNear computes it (the displacement
/// only selects the blocks worth the test): when they differ, as they may where the next instruction's EIP wraps at the
/// code size, the ordinary exit runs. The target, being the block's start, lies within CS.limit and is canonical, so the
/// branch cannot fault.
/// </para>
/// </remarks>
internal sealed partial class BlockEmitter
{
    /// <summary>The top of a self-loop (after the prologue); null when the block does not branch back to its start.</summary>
    private Label? _loopTop;

    /// <summary>The compile-time view at the loop's top, which the back edge restores.</summary>
    private EmitterView _loopTopView;

    /// <summary>
    /// Whether instruction <paramref name="i"/> is a Jcc or JMP rel whose displacement leads back to the block's first byte.
    /// </summary>
    private bool BranchesToOwnStart(int i)
    {
        ref DecodedInstruction d = ref _instructions[i];
        return d.Op is Op.Jcc or Op.JmpRel && unchecked(_offsets[i + 1] + d.Imm) == 0;
    }

    /// <summary>
    /// After the prologue: for a self-loop, loads the registers the block names into their locals and marks the loop's
    /// top with that view.
    /// </summary>
    private void EmitLoopTop()
    {
        bool loops = false;
        for (int i = 0; i < _count; i++)
        {
            loops |= BranchesToOwnStart(i);
        }

        if (!loops)
        {
            return;
        }

        for (int i = 0; i < _count; i++)
        {
            ref DecodedInstruction d = ref _instructions[i];
            PreloadRegister(d.Reg0);
            PreloadRegister(d.Reg1);
            PreloadRegister(d.Base);
            PreloadRegister(d.Index);
        }

        Label top = _il.DefineLabel();
        _il.MarkLabel(top);
        _loopTop = top;
        _loopTopView = SaveView();
    }

    /// <summary>
    /// Loads a register named by an instruction into its local (a byte register AH..BH names its whole register as well);
    /// register numbers that name nothing (no register, RIP) are skipped. Naming more than the block uses costs a load.
    /// </summary>
    private void PreloadRegister(byte register)
    {
        if (register is DecodedInstruction.NoRegister or DecodedInstruction.RipRegister)
        {
            return;
        }

        if ((uint)(register - 4) < 4)
        {
            Preload(register - 4);
        }

        Preload(register & RegisterNumberMask);

        void Preload(int r)
        {
            if (_registerStates[r] != RegisterState.NotLoaded)
            {
                return;
            }

            LoadRegister(r, 8);
            _il.Emit(OpCodes.Pop);
        }
    }

    /// <summary>
    /// The taken side of a branch, for one back to the block's start: when the target is the block's start and
    /// Cpu.ContinueCompiledLoop agrees, back to the loop's top; otherwise (and for any other block: nothing is emitted) the
    /// ordinary exit the caller emits next, with the compile-time view as it was.
    /// </summary>
    /// <param name="i">The branch's index.</param>
    /// <param name="d">The branch.</param>
    private void EmitLoopBackEdge(int i, ref DecodedInstruction d)
    {
        if (_loopTop is not Label top || !BranchesToOwnStart(i))
        {
            return;
        }

        ILGenerator il = _il;
        Label leave = il.DefineLabel();

        // The target as Cpu.JumpNear masks it to the operand size.
        LoadRipAfter(i);
        il.Emit(OpCodes.Ldc_I8, (long)d.Imm);
        il.Emit(OpCodes.Add);
        if (d.OpSize == 2)
        {
            il.Emit(OpCodes.Ldc_I8, (long)WordMask);
            il.Emit(OpCodes.And);
        }
        else if (d.OpSize == 4)
        {
            il.Emit(OpCodes.Conv_U4);
            il.Emit(OpCodes.Conv_U8);
        }

        il.Emit(OpCodes.Ldloc, _rip0);
        il.Emit(OpCodes.Bne_Un, leave);

        // EIP = the target, for the test's CS:EIP; then the run loop's between-block bookkeeping and tests.
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldloc, _rip0);
        il.Emit(OpCodes.Stfld, M.Rip);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldc_I4, i + 1);
        il.Emit(OpCodes.Call, Cpu.CompiledLoopMembers.ContinueLoop);
        il.Emit(OpCodes.Brfalse, leave);

        EmitterView here = SaveView();
        EmitterView atTop = _loopTopView;
        for (int r = 0; r < RegisterCount; r++)
        {
            if (_registerStates[r] == RegisterState.Dirty)
            {
                il.Emit(OpCodes.Ldloc, _gpr);
                il.Emit(OpCodes.Ldc_I4, r);
                il.Emit(OpCodes.Ldloc, _registerLocals[r]!);
                il.Emit(OpCodes.Stelem_I8);
            }
            else if (_registerStates[r] == RegisterState.NotLoaded && atTop.Registers[r] != RegisterState.NotLoaded)
            {
                il.Emit(OpCodes.Ldloc, _gpr);
                il.Emit(OpCodes.Ldc_I4, r);
                il.Emit(OpCodes.Ldelem_I8);
                il.Emit(OpCodes.Stloc, _registerLocals[r]!);
            }
        }

        WriteBackFlags(updateState: false);
        il.Emit(OpCodes.Br, top);

        il.MarkLabel(leave);
        RestoreView(here);
    }
}
