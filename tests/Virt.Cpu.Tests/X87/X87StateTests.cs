using FsCheck.Xunit;
using Virt.Cpu.X87;
using Xunit;

namespace Virt.Cpu.Tests.X87;

/// <summary>The register stack, tags, stack faults and the FSTENV/FSAVE/FXSAVE images.</summary>
public sealed class X87StateTests
{
    private static X87State RandomState(ulong seed, ushort cw, ushort sw, byte empty, uint fip, ushort fcs, uint fdp, ushort fds, ushort fop)
    {
        var state = new X87State
        {
            ControlWord = cw,
            StatusWord = sw,
            InstructionOffset = fip,
            InstructionSelector = fcs,
            DataOffset = fdp,
            DataSelector = fds,
            Opcode = fop,
        };
        ulong x = seed | 1;
        for (int i = 0; i < 8; i++)
        {
            // xorshift: registers of every class (zero, denormal, normal, NaN, unsupported...).
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ushort se = (i % 4) switch { 0 => (ushort)x, 1 => 0, 2 => 0x7FFF, _ => (ushort)(0x3FFF + (x >> 58)) };
            state.Physical(i) = new Float80(se, i == 5 ? 0 : x * 0x9E37_79B9_7F4A_7C15);
        }

        state.AbridgedTagWord = (byte)~empty;
        return state;
    }

    private static void AssertSameState(X87State expected, X87State actual, bool selectors)
    {
        Assert.Equal(expected.ControlWord, actual.ControlWord);
        Assert.Equal(expected.StatusWord, actual.StatusWord);
        Assert.Equal(expected.TagWord, actual.TagWord);
        Assert.Equal(expected.Opcode, actual.Opcode);
        Assert.Equal(expected.InstructionOffset, actual.InstructionOffset);
        Assert.Equal(expected.DataOffset, actual.DataOffset);
        if (selectors)
        {
            Assert.Equal(expected.InstructionSelector, actual.InstructionSelector);
            Assert.Equal(expected.DataSelector, actual.DataSelector);
        }

        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(expected.Physical(i), actual.Physical(i));
        }
    }

    [Property(MaxTest = 200)]
    public void Fsave_frstor_round_trips_in_every_layout(ulong seed, ushort cw, ushort sw, byte empty, uint fip, ushort fcs, uint fdp, ushort fds, ushort fop)
    {
        foreach (X87EnvironmentFormat format in Enum.GetValues<X87EnvironmentFormat>())
        {
            X87State state = RandomState(seed, cw, sw, empty, fip, fcs, fdp, fds, fop);
            bool real = format is X87EnvironmentFormat.Real16 or X87EnvironmentFormat.Real32;
            bool narrow = format is X87EnvironmentFormat.Real16 or X87EnvironmentFormat.Protected16;
            if (real)
            {
                // Real-mode images hold linear pointers (20 bits in the 16-bit layout): compare in that form.
                state.InstructionOffset = (fip + ((uint)fcs << 4)) & (narrow ? 0xF_FFFFu : 0xFFFF_FFFFu);
                state.DataOffset = (fdp + ((uint)fds << 4)) & (narrow ? 0xF_FFFFu : 0xFFFF_FFFFu);
                state.InstructionSelector = 0;
                state.DataSelector = 0;
            }
            else if (narrow)
            {
                // The 16-bit protected layout holds 16-bit offsets and no FOP.
                state.InstructionOffset &= 0xFFFF;
                state.DataOffset &= 0xFFFF;
                state.Opcode = 0;
            }

            byte[] image = new byte[X87State.SaveSizeInBytes(format)];
            state.Save(image, format);
            var restored = new X87State();
            restored.Restore(image, format);
            AssertSameState(state, restored, selectors: !real);
        }
    }

    [Property(MaxTest = 200)]
    public void Fxsave_fxrstor_round_trips_and_leaves_the_sse_area(ulong seed, ushort cw, ushort sw, byte empty, uint fip, ushort fcs, uint fdp, ushort fds, ushort fop)
    {
        X87State state = RandomState(seed, cw, sw, empty, fip, fcs, fdp, fds, fop);
        byte[] image = new byte[X87State.FxsaveSizeInBytes];
        Array.Fill(image, (byte)0xA5);
        state.WriteFxsave(image);
        Assert.All(image[24..32], b => Assert.Equal(0xA5, b));
        Assert.All(image[160..], b => Assert.Equal(0xA5, b));
        var restored = new X87State();
        restored.ReadFxsave(image);
        AssertSameState(state, restored, selectors: true);
    }

    [Fact]
    public void Protected32_environment_layout_matches_figure_8_9()
    {
        var state = new X87State { InstructionOffset = 0x1234_5678, InstructionSelector = 0x0008, DataOffset = 0x9ABC_DEF0, DataSelector = 0x0010, Opcode = 0x5D9 };
        X87Context ctx = X87Context.Masked();
        state.Push(Float80.One, ref ctx);
        byte[] env = new byte[28];
        state.WriteEnvironment(env, X87EnvironmentFormat.Protected32);
        Assert.Equal(new byte[] { 0x7F, 0x03, 0xFF, 0xFF }, env[0..4]);
        Assert.Equal(new byte[] { 0x00, 0x38, 0xFF, 0xFF }, env[4..8]); // TOP = 7
        Assert.Equal(new byte[] { 0xFF, 0x3F, 0xFF, 0xFF }, env[8..12]); // R7 valid (00), others empty
        Assert.Equal(new byte[] { 0x78, 0x56, 0x34, 0x12, 0x08, 0x00, 0xD9, 0x05 }, env[12..20]);
        Assert.Equal(new byte[] { 0xF0, 0xDE, 0xBC, 0x9A, 0x10, 0x00 }, env[20..26]);
    }

    [Fact]
    public void Real16_environment_packs_20_bit_pointers_with_the_opcode()
    {
        var state = new X87State { InstructionOffset = 0x0123, InstructionSelector = 0xF000, DataOffset = 0x0456, DataSelector = 0x1000, Opcode = 0x7FF };
        byte[] env = new byte[14];
        state.WriteEnvironment(env, X87EnvironmentFormat.Real16);
        // FIP linear F0123: low word 0123, then bits 19-16 (F) in 15-12 with the opcode below.
        Assert.Equal(new byte[] { 0x23, 0x01, 0xFF, 0xF7, 0x56, 0x04, 0x00, 0x10 }, env[6..14]);
    }

    [Fact]
    public void Finit_sets_the_documented_values()
    {
        var state = new X87State { ControlWord = 0, StatusWord = 0xFFFF, Opcode = 5 };
        state.Initialize();
        Assert.Equal(0x037F, state.ControlWord);
        Assert.Equal(0, state.StatusWord);
        Assert.Equal(0xFFFF, state.TagWord);
        Assert.Equal(0, state.AbridgedTagWord);
        Assert.Equal(0, state.Opcode);
    }

    [Fact]
    public void Push_and_pop_move_top_and_tags()
    {
        var state = new X87State();
        X87Context ctx = X87Context.Masked();
        Assert.True(state.Push(Float80.One, ref ctx));
        Assert.True(state.Push(Float80.PositiveZero, ref ctx));
        Assert.Equal(6, state.Top);
        Assert.Equal(X87Tag.Zero, state.GetTag(6));
        Assert.Equal(X87Tag.Valid, state.GetTag(7));
        Assert.Equal(0b0001_1111_1111_1111, state.TagWord);
        Assert.Equal(0b1100_0000, state.AbridgedTagWord);
        Assert.Equal(Float80.One, state.St(1));
        state.Pop();
        Assert.Equal(7, state.Top);
        Assert.True(state.IsPhysicalEmpty(6));
        Assert.Equal(X87Exceptions.None, ctx.Flags);
    }

    [Fact]
    public void Pushing_onto_a_full_stack_is_a_stack_overflow()
    {
        var state = new X87State();
        X87Context ctx = X87Context.Masked();
        for (int i = 0; i < 8; i++)
        {
            state.Push(X87Math.FromInt64(i), ref ctx);
        }

        Assert.Equal(X87Exceptions.None, ctx.Flags);
        Assert.True(state.Push(Float80.One, ref ctx));
        Assert.Equal(X87Exceptions.Invalid | X87Exceptions.StackFault, ctx.Flags);
        Assert.True(state.C1);
        Assert.Equal(Float80.Indefinite, state.St(0));
        state.Merge(ctx);
        Assert.Equal(0x41, state.StatusWord & 0x7F);
        Assert.True(state.C1);

        // Unmasked: nothing is pushed.
        var unmasked = new X87Context(X87PrecisionControl.Extended, X87RoundingControl.Nearest, X87Exceptions.None);
        int top = state.Top;
        Assert.False(state.Push(Float80.One, ref unmasked));
        Assert.Equal(top, state.Top);
    }

    [Fact]
    public void Reading_an_empty_register_is_a_stack_underflow_with_c1_clear()
    {
        var state = new X87State();
        state.C1 = true;
        X87Context ctx = X87Context.Masked();
        Assert.False(state.CheckOperand(0, ref ctx));
        Assert.Equal(X87Exceptions.Invalid | X87Exceptions.StackFault, ctx.Flags);
        Assert.False(state.C1);
    }

    [Fact]
    public void Error_summary_follows_unmasked_flags()
    {
        var state = new X87State { ControlWord = 0x037E }; // IM clear
        var ctx = state.CreateContext();
        X87Math.Add(Float80.PositiveInfinity, Float80.NegativeInfinity, ref ctx);
        Assert.Equal(X87Exceptions.Invalid, state.Merge(ctx));
        Assert.True(ctx.SuppressWrite);
        Assert.True(state.ErrorPending);
        Assert.Equal(0x8081, state.StatusWord & 0x80FF);
        state.ClearExceptions();
        Assert.False(state.ErrorPending);
        Assert.Equal(0, state.StatusWord & 0x80FF);
    }
}
